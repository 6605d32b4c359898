/* netlink.c: NETLINK_ROUTE sockets (netlinkOpen/Send/Close/Stats) defined on the addon's exports.
 * Apart from io.h because it needs N-API: io.h is plain C that the layout-contract test compiles
 * without Node's headers. */
#ifndef DMVPN_NETLINK_H
#define DMVPN_NETLINK_H
#include <node_api.h>
void netlink_define(napi_env env, napi_value exports);
#endif
