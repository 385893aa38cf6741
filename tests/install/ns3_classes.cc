/*
 * ns3_classes - an ns-3 program using qns's ns-3 classes from the installed
 * headers alone: each compiles on its own, and the installed libraries
 * register the classes' TypeIds.
 */
#include <qns-bridge.h>
#include <qns-guest-run.h>
#include <qns-guest.h>
#include <qns-helper.h>
#include <qns-lookahead.h>
#include <qns-next-event.h>
#include <qns-sync-scheduler.h>

#include "ns3/core-module.h"

#include <iostream>

int main()
{
    /* A program that uses the classes links their libraries (the linker
     * drops a library nothing refers to, and its TypeIds with it). */
    ns3::Ptr<ns3::QnsSyncScheduler> scheduler = ns3::CreateObject<ns3::QnsSyncScheduler>();
    for (const char *name : {"ns3::QnsSyncScheduler", "ns3::QnsBridge", "ns3::QnsNextEvent",
                             "ns3::QnsGuest", "ns3::QnsGuestRun", "ns3::QnsRankEnd"}) {
        ns3::TypeId tid;
        if (!ns3::TypeId::LookupByNameFailSafe(name, &tid)) {
            std::cerr << "ns3_classes: " << name << " is not registered\n";
            return 1;
        }
        std::cout << tid.GetName() << " (parent " << tid.GetParent().GetName() << ")\n";
    }
    ns3::Ptr<ns3::QnsBridge> bridge = ns3::CreateObject<ns3::QnsBridge>();
    std::cout << "bridge MTU " << bridge->GetMtu() << "\n";
    return 0;
}
