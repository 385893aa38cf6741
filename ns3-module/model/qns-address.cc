/*
 * qns-address.cc - IPv4 addresses as qns's settings write them.
 */
#include "qns-address.h"

#include <cstdio>
#include <cstdlib>
#include <sstream>

using ns3::Ipv4Address;
using ns3::Ipv4Mask;

bool QnsParseAddress(const std::string &s, Ipv4Address &addr)
{
    unsigned b[4];
    char tail;
    if (std::sscanf(s.c_str(), "%u.%u.%u.%u%c", &b[0], &b[1], &b[2], &b[3], &tail) != 4 ||
        b[0] > 255 || b[1] > 255 || b[2] > 255 || b[3] > 255) {
        return false;
    }
    addr = Ipv4Address(s.c_str());
    return true;
}

bool QnsParseCidr(const std::string &s, Ipv4Address &addr, Ipv4Mask &mask, long minPrefix)
{
    auto slash = s.find('/');
    if (slash == std::string::npos || !QnsParseAddress(s.substr(0, slash), addr)) {
        return false;
    }
    std::string p = s.substr(slash + 1);
    char *end;
    long prefix = std::strtol(p.c_str(), &end, 10);
    if (p.empty() || *end != '\0' || prefix < minPrefix || prefix > 32) {
        return false;
    }
    mask = Ipv4Mask(("/" + p).c_str());
    return true;
}

bool QnsHostAddressCheck(const std::string &who, const std::string &cidr, std::string &err)
{
    Ipv4Address a;
    Ipv4Mask mask;
    if (!QnsParseCidr(cidr, a, mask)) {
        err = who + ": bad address '" + cidr + "', expected A.B.C.D/PREFIX";
        return false;
    }
    if (mask.GetPrefixLength() > 30) {
        return true; /* /31 point-to-point pairs and /32 hosts have no such addresses */
    }
    uint32_t host = a.Get() & ~mask.Get();
    if (host == 0 || host == ~mask.Get()) {
        std::ostringstream net;
        net << a.CombineMask(mask) << "/" << mask.GetPrefixLength();
        err = who + ": " + cidr + " is the " +
              (host == 0 ? "network address" : "broadcast address") + " of " + net.str() +
              ", not a host's";
        return false;
    }
    return true;
}

std::string QnsHostOf(const std::string &cidr)
{
    return cidr.substr(0, cidr.find('/'));
}
