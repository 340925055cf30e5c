# torwatch tor-relays version 1, 0 entries, generated 2026-11-18T11:06:40Z
/ip firewall address-list
remove [find list="tor-relays"]
/ipv6 firewall address-list
remove [find list="tor-relays"]
