{
  "targets": [
    {
      "target_name": "dmvpn_io",
      "sources": ["addon.c", "errors.c", "tun.c", "sockets.c", "control-lanes.c", "doorbell.c", "pump.c", "pcap.c", "layout-contract.c", "netlink.c", "mcast-raw.c", "polled-sock.c", "udp-offload.c", "gre-split.c", "nbma-spread.c", "tun-steering.c"],
      "cflags": ["-O2", "-Wall", "-std=gnu11", "-pthread"],
      "cflags!": ["-O3"],
      "ldflags": ["-pthread"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
