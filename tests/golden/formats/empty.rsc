# torwatch tor-relays version 1, 0 entries, generated 2026-11-18T11:06:40Z
# Updates the address list in place and never empties it: every entry is marked stale, each current
# address is added (or, when already listed, unmarked), then only the entries still stale are removed.
/ip firewall address-list
set [find list="tor-relays"] comment="torwatch-stale"
remove [find list="tor-relays" comment="torwatch-stale"]
/ipv6 firewall address-list
set [find list="tor-relays"] comment="torwatch-stale"
remove [find list="tor-relays" comment="torwatch-stale"]
