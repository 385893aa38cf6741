/*
 * qns-address.cc - IPv4 addresses as qns's settings write them.
 */
#include "qns-address.h"

#include <arpa/inet.h>

#include <cstdio>
#include <cstdlib>
#include <sstream>

using ns3::Ipv4Address;
using ns3::Ipv4Mask;

bool QnsParseAddress(const std::string &s, Ipv4Address &addr)
{
    struct in_addr a;
    if (inet_pton(AF_INET, s.c_str(), &a) != 1) {
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
    if (p.empty() || p.size() > 2 || p.find_first_not_of("0123456789") != std::string::npos) {
        return false;
    }
    long prefix = std::strtol(p.c_str(), nullptr, 10);
    if (prefix < minPrefix || prefix > 32) {
        return false;
    }
    mask = Ipv4Mask(("/" + p).c_str());
    return true;
}

bool QnsIpv4Check(const std::string &s, bool withPrefix, std::string &err, long minPrefix)
{
    Ipv4Address a;
    Ipv4Mask m;
    if (withPrefix ? QnsParseCidr(s, a, m, minPrefix) : QnsParseAddress(s, a)) {
        return true;
    }
    err = "bad IPv4 address '" + s + "' (expected " +
          (withPrefix ? "A.B.C.D/PREFIX, e.g. 10.0.0.1/24" : "A.B.C.D") + ")";
    return false;
}

bool QnsHostAddressCheck(const std::string &who, const std::string &cidr, std::string &err)
{
    Ipv4Address a;
    Ipv4Mask mask;
    if (!QnsIpv4Check(cidr, true, err, 1)) {
        err = who + ": " + err;
        return false;
    }
    QnsParseCidr(cidr, a, mask);
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
