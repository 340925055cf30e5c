# torwatch tor-exits version 42, 5 entries, generated 2026-11-18T11:06:40Z
/ip firewall address-list
remove [find list="tor-exits"]
add list="tor-exits" address=185.220.101.2
add list="tor-exits" address=185.220.101.3
add list="tor-exits" address=192.42.116.16
add list="tor-exits" address=198.51.100.0/24
add list="tor-exits" address=198.51.100.77
