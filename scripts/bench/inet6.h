/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * inet6.h - the bench's IPv6 builds of svcd-echo and svcd-load.
 *
 * tools/echo.c and tools/load.c speak IPv4 only (struct sockaddr_in).
 * scripts/bench.sh compiles the same two files a second time with
 * `-include scripts/bench/inet6.h`, which turns every IPv4 socket name in
 * them into its IPv6 twin, so the IPv6 rows are measured by the very same
 * code as the IPv4 ones (same connect/read/close loop, same percentiles,
 * same JSON), not by a second tool:
 *
 *   svcd-echo6 --name N --port P --tcp    serves [::]:P (IPV6_V6ONLY by the
 *                                         pod's net.ipv6.bindv6only=1, set
 *                                         by the bench, so it sits beside the
 *                                         IPv4 svcd-echo on the same port)
 *   svcd-load6 --tcp --to ADDR:PORT ...   ADDR an IPv6 address without
 *                                         brackets (the tool splits host and
 *                                         port at the last ':')
 *
 * The system headers are included first (their include guards keep the
 * tools' own #includes from seeing the macros below inside them).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#undef AF_INET
#define AF_INET AF_INET6
#undef INET_ADDRSTRLEN
#define INET_ADDRSTRLEN INET6_ADDRSTRLEN
#define sockaddr_in sockaddr_in6
#define sin_family sin6_family
#define sin_port sin6_port
#define sin_addr sin6_addr
/* echo.c: .sin_addr.s_addr = htonl(INADDR_ANY) -> the first word of ::, 0 */
#define s_addr s6_addr32[0]
