# torwatch tor-exits version 42, 8 entries, generated 2026-11-18T11:06:40Z
/ip firewall address-list
remove [find list="tor-exits"]
add list="tor-exits" address=185.220.101.2
add list="tor-exits" address=185.220.101.3
add list="tor-exits" address=192.42.116.16
add list="tor-exits" address=198.51.100.0/24
add list="tor-exits" address=198.51.100.77
/ipv6 firewall address-list
remove [find list="tor-exits"]
add list="tor-exits" address=2001:67c:e60:c0c:192:42:116:16
add list="tor-exits" address=2001:db8::1
add list="tor-exits" address=2001:db8:1::/48
