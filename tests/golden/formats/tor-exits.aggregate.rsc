# torwatch tor-exits version 42, 6 entries, generated 2026-11-18T11:06:40Z
# Updates the address list in place and never empties it: every entry is marked stale, each current
# address is added (or, when already listed, unmarked), then only the entries still stale are removed.
/ip firewall address-list
set [find list="tor-exits"] comment="torwatch-stale"
:do { add list="tor-exits" address=185.220.101.2/31 comment="torwatch" } on-error={ set [find list="tor-exits" address="185.220.101.2/31"] comment="torwatch" }
:do { add list="tor-exits" address=192.42.116.16 comment="torwatch" } on-error={ set [find list="tor-exits" address="192.42.116.16"] comment="torwatch" }
:do { add list="tor-exits" address=198.51.100.0/24 comment="torwatch" } on-error={ set [find list="tor-exits" address="198.51.100.0/24"] comment="torwatch" }
remove [find list="tor-exits" comment="torwatch-stale"]
/ipv6 firewall address-list
set [find list="tor-exits"] comment="torwatch-stale"
:do { add list="tor-exits" address=2001:67c:e60:c0c:192:42:116:16 comment="torwatch" } on-error={ set [find list="tor-exits" address="2001:67c:e60:c0c:192:42:116:16"] comment="torwatch" }
:do { add list="tor-exits" address=2001:db8::1 comment="torwatch" } on-error={ set [find list="tor-exits" address="2001:db8::1"] comment="torwatch" }
:do { add list="tor-exits" address=2001:db8:1::/48 comment="torwatch" } on-error={ set [find list="tor-exits" address="2001:db8:1::/48"] comment="torwatch" }
remove [find list="tor-exits" comment="torwatch-stale"]
