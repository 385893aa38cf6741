/*
 * qns-address.h - IPv4 addresses as qns's settings write them ("A.B.C.D",
 * "A.B.C.D/PREFIX"), parsed in one place for guests, nodes, routes and
 * applications.
 */
#ifndef QNS_ADDRESS_H
#define QNS_ADDRESS_H

#include "ns3/ipv4-address.h"

#include <string>

/* "A.B.C.D" with each part 0..255, in decimal. */
bool QnsParseAddress(const std::string &s, ns3::Ipv4Address &addr);
/* "A.B.C.D/PREFIX", PREFIX from minPrefix to 32. */
bool QnsParseCidr(const std::string &s, ns3::Ipv4Address &addr, ns3::Ipv4Mask &mask,
                  long minPrefix = 1);
/* "A.B.C.D" or, withPrefix, "A.B.C.D/PREFIX" (minPrefix .. 32): true, or
 * false with "bad IPv4 address 'S' (expected ...)" in err. */
bool QnsIpv4Check(const std::string &s, bool withPrefix, std::string &err, long minPrefix = 0);
/* A host's address on its subnet: "A.B.C.D/PREFIX", up to /30 neither the
 * network's own address (host bits 0) nor its broadcast address (host bits
 * 1). True, or false with "WHO: ..." in err. */
bool QnsHostAddressCheck(const std::string &who, const std::string &cidr, std::string &err);
/* The host part of "A.B.C.D/P", for comparing members of one link. */
std::string QnsHostOf(const std::string &cidr);

#endif
