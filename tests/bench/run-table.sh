#!/bin/sh
# Shared-table benchmark: 1 and 2 processes, 10 k and 1 M records.
# Run from the build directory after make; prints a Markdown table.
set -e
bench=${BENCH:-tests/bench/table_bench}
secs=${SECS:-3}
echo "| records | procs | lookups/s per proc | 90/10 mix/s per proc | peer: hsearch_r lookups/s | fill | bytes per slot | bytes per live record | segment MB |"
echo "|---|---|---|---|---|---|---|---|---|"
for n in 10000 1000000; do
	for p in 1 2; do
		"$bench" "$n" "$p" "$secs" | tr ' ' '\n' | awk -F= '
		    { v[$1] = $2 }
		    END { printf "| %s | %s | %.2f M | %.2f M | %s | %s | %s | %s | %s |\n",
			v["records"], v["procs"],
			v["lookups_per_s_per_proc"] / 1e6,
			v["mix_per_s_per_proc"] / 1e6,
			v["procs"] == 1 ? sprintf("%.2f M", v["peer_hsearch_lookups_per_s"] / 1e6) : "-",
			v["fill"],
			v["bytes_per_slot"], v["bytes_per_live"],
			v["segment_mb"] }'
	done
done
