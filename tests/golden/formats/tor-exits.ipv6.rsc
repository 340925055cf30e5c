# torwatch tor-exits version 42, 3 entries, generated 2026-11-18T11:06:40Z
/ipv6 firewall address-list
remove [find list="tor-exits"]
add list="tor-exits" address=2001:67c:e60:c0c:192:42:116:16
add list="tor-exits" address=2001:db8::1
add list="tor-exits" address=2001:db8:1::/48
