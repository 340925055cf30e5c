# Reference count for bench/scan_vs_mawk.sh: the first file is the exit list (one address per line, as the kernel
# spells it), the second a netfilter log. Counts hits per source, per destination port and per protocol, reading
# the port and protocol only for lines whose source is listed (the fastest honest awk for the job).
NR == FNR { if ($1 !~ /^#/) list[$1] = 1; next }
match($0, / SRC=[^ ]+/) {
    src = substr($0, RSTART + 5, RLENGTH - 5)
    if (!(src in list)) next
    hits++; by_src[src]++
    if (match($0, / PROTO=[^ ]+/)) by_proto[substr($0, RSTART + 7, RLENGTH - 7)]++
    if (match($0, / DPT=[0-9]+/)) by_port[substr($0, RSTART + 5, RLENGTH - 5)]++
}
END {
    print hits + 0
    for (k in by_src) n++
    print "distinct", n + 0
    for (k in by_proto) print "proto", k, by_proto[k]
}
