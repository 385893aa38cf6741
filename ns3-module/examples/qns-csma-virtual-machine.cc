/*
 * This program is free software; you can redistribute it and/or modify
 * it under the terms of the GNU General Public License version 2 as
 * published by the Free Software Foundation;
 *
 * This program is distributed in the hope that it will be useful,
 * but WITHOUT ANY WARRANTY; without even the implied warranty of
 * MERCHANTABILITY or FITNESS FOR A PARTICULAR PURPOSE.  See the
 * GNU General Public License for more details.
 *
 * You should have received a copy of the GNU General Public License
 * along with this program; if not, write to the Free Software
 * Foundation, Inc., 59 Temple Place, Suite 330, Boston, MA  02111-1307  USA
 */

//
// qns: ns-3's src/tap-bridge/examples/tap-csma-virtual-machine.cc, ported
// to qns. Where TapBridge attached two virtual machines through host TAP
// devices, QnsHelper puts two QEMU guests on the same devices, on the
// simulator's clock; the lines that changed are marked "qns". Guest left
// runs --command (by default it pings right) and its power-off ends the run:
//
//   qns-csma-virtual-machine [--command="ping -c 3 10.1.1.2"]
//                            [--ns3::QnsSyncScheduler::Quantum=1ms]
//
// Consoles (left.console, right.console) and captures go to the current
// folder. The original's comment follows.
//
// This is an illustration of how one could use virtualization techniques to
// allow running applications on virtual machines talking over simulated
// networks.
//
// The actual steps required to configure the virtual machines can be rather
// involved, so we don't go into that here.  Please have a look at one of
// our HOWTOs on the nsnam wiki for more details about how to get the
// system confgured.  For an example, have a look at "HOWTO Use Linux
// Containers to set up virtual networks" which uses this code as an
// example.
//
// The configuration you are after is explained in great detail in the
// HOWTO, but looks like the following:
//
//  +----------+                           +----------+
//  | virtual  |                           | virtual  |
//  |  Linux   |                           |  Linux   |
//  |   Host   |                           |   Host   |
//  |          |                           |          |
//  |   eth0   |                           |   eth0   |
//  +----------+                           +----------+
//       |                                      |
//  +----------+                           +----------+
//  |  Linux   |                           |  Linux   |
//  |  Bridge  |                           |  Bridge  |
//  +----------+                           +----------+
//       |                                      |
//  +------------+                       +-------------+
//  | "tap-left" |                       | "tap-right" |
//  +------------+                       +-------------+
//       |           n0            n1           |
//       |       +--------+    +--------+       |
//       +-------|  tap   |    |  tap   |-------+
//               | bridge |    | bridge |
//               +--------+    +--------+
//               |  CSMA  |    |  CSMA  |
//               +--------+    +--------+
//                   |             |
//                   |             |
//                   |             |
//                   ===============
//                      CSMA LAN
//
#include "ns3/core-module.h"
#include "ns3/csma-module.h"
#include "ns3/network-module.h"
#include "ns3/qns-module.h" // qns

#include <fstream>
#include <iostream>

using namespace ns3;

NS_LOG_COMPONENT_DEFINE("QnsCsmaVirtualMachineExample");

int main(int argc, char *argv[])
{
    std::string command = "ping -c 3 10.1.1.2"; // qns
    CommandLine cmd(__FILE__);
    cmd.AddValue("command", "What guest left runs; its end ends the run", command); // qns
    cmd.Parse(argc, argv);

    //
    // We are interacting with the outside, real, world.  This means we have to
    // interact in real-time and therefore means we have to use the real-time
    // simulator and take the time to calculate checksums.
    //
    GlobalValue::Bind("SimulatorImplementationType", StringValue("ns3::RealtimeSimulatorImpl"));
    GlobalValue::Bind("ChecksumEnabled", BooleanValue(true));

    //
    // Create two ghost nodes.  The first will represent the virtual machine host
    // on the left side of the network; and the second will represent the VM on
    // the right side.
    //
    NodeContainer nodes;
    nodes.Create(2);

    //
    // Use a CsmaHelper to get a CSMA channel created, and the needed net
    // devices installed on both of the nodes.  The data rate and delay for the
    // channel can be set through the command-line parser.  For example,
    //
    // qns-csma-virtual-machine --ns3::CsmaChannel::DataRate=10000000
    //
    CsmaHelper csma;
    NetDeviceContainer devices = csma.Install(nodes);

    //
    // Use the QnsHelper to put a guest on the left side (qns: in place of the
    // pre-configured tap device).  We go with "UseBridge" mode since the CSMA
    // devices support promiscuous mode and can therefore make it appear that
    // the bridge is extended into ns-3.  The install method essentially
    // bridges the guest's NIC to the specified CSMA device.
    //
    QnsHelper qns;                                                        // qns
    qns.SetBridgeAttribute("Mode", StringValue("UseBridge"));             // qns
    Ptr<QnsGuest> left = qns.CreateGuest("left", "10.1.1.1/24", command); // qns
    qns.Install(left, 0, devices.Get(0));                                 // qns

    //
    // Connect the right side guest to the right side CSMA device on the
    // right-side ghost node.
    //
    Ptr<QnsGuest> right = qns.CreateGuest("right", "10.1.1.2/24", ""); // qns
    qns.Install(right, 0, devices.Get(1));                             // qns

    //
    // Run the simulation for ten minutes to give the user time to play around
    // (qns: or until guest left's command is done and it has powered off)
    //
    Simulator::Stop(Seconds(600.));
    Simulator::Run();
    Simulator::Destroy();
}
