/* mcast-raw.c: raw IPv4 sockets joined to a multicast group per interface (mcastRawOpen/Send/Close/
 * Stats) defined on the addon's exports. Apart from io.h because it needs N-API, as netlink.h. */
#ifndef DMVPN_MCAST_RAW_H
#define DMVPN_MCAST_RAW_H
#include <node_api.h>
void mcast_raw_define(napi_env env, napi_value exports);
#endif
