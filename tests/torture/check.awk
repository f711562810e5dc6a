# check.awk - the checker of crash-torture.sh, after Jepsen's Kafka
# checker: it reads the history of a run and counts
#
#   lost          values a producer acknowledged (--print-offsets) that
#                 are not in the log at the offset it was acknowledged
#                 at (and not legitimately gone: below the log start
#                 after retention, or a key with a later record in the
#                 log after compaction)
#   duplicates    values seen at two offsets, by anyone
#   inconsistent  offsets seen with two values, by anyone (producers,
#                 readers, queue jobs, the final log)
#   skipped       records a reader passed over within a run (a final-log
#                 offset between two it read, or before its first when
#                 it started at the beginning or at its group commit),
#                 and records below a group's final commit that no
#                 member of the group ever wrote out
#   nonmonotonic  a run reading an offset at or below one it read before
#                 in the same partition
#   unowned       records a group member wrote out of a partition it did
#                 not own (by its -v notes)
#   garbage       values no producer sent, or sent to another topic, or
#                 with the wrong key
#   gaps          offsets missing inside a delete-policy partition
#   lag           a group whose final commit is not the end offset after
#                 the final drain
#   commitsback   a group commit (offset or commit number) that went
#                 backwards between two samples
#   jobslost      records of jobs neither accepted by a queue job nor
#                 dead-lettered
#   compaction    keys whose latest record is not in the compacted log,
#                 or not the one record the sealed segments keep of it
#   retention     partitions whose log start is not their oldest
#                 segment's base offset (retention removes whole
#                 segments only)
#   errors        runs that ended with a status other than 0 or SIGKILL
#   check         mq-check not clean at the end
#
# Input files, in this order: ledger starts segs final dlq ack.* err.* out.*
# acc (see crash-torture.sh).  -v keys=N: the number of keys of kv.

function note(what, msg) {
	if (++shown[what] <= 5)
		print "check: " what ": " msg >"/dev/stderr"
}

function idx(v,   a) {
	split(v, a, ".")
	return a[3]
}

function keyof(v) {
	return "k" ((idx(v) * 7) % keys)
}

# valid V T: V was produced, to topic T.
function valid(v, t,   a, pre) {
	if (split(v, a, ".") != 3)
		return 0
	pre = a[1] "." a[2]
	if (!(pre in nprod) || tprod[pre] != t)
		return 0
	return a[3] ~ /^[0-9]+$/ && a[3] + 0 >= 1 && a[3] + 0 <= nprod[pre]
}

# obs T P O V K WHO: someone saw value V with key K at offset O.
function obs(t, p, o, v, k, who,   at_k, kk) {
	if (!valid(v, t) || (t == "kv" && k != keyof(v)) ||
	    (t != "kv" && k != "")) {
		garbage++
		note("garbage", who ": " t "-" p " offset " o ": " v " key " k)
		return
	}
	at_k = t SUBSEP p SUBSEP o
	if (at_k in at) {
		if (at[at_k] != v && !(at_k in badoff)) {
			badoff[at_k] = 1
			inconsistent++
			note("inconsistent", t "-" p " offset " o ": " at[at_k] \
			    " and " v " (" who ")")
		}
	} else
		at[at_k] = v
	if (v in loc) {
		if (loc[v] != at_k && !(v in badval)) {
			badval[v] = 1
			duplicates++
			note("duplicates", v " at two offsets (" who ")")
		}
	} else
		loc[v] = at_k
	if (t == "kv") {
		kk = p SUBSEP k
		if (!(kk in lastkey) || o + 0 > lastkey[kk])
			lastkey[kk] = o + 0
		if (o + 0 < active[t, p] && (!(kk in lastsealed) ||
		    o + 0 > lastsealed[kk]))
			lastsealed[kk] = o + 0
	}
}

# below T P X: how many offsets of the final log of T-P are under X.
function below(t, p, x,   lo, hi, mid, tp) {
	tp = t SUBSEP p
	lo = 0
	hi = nf[tp]
	while (lo < hi) {
		mid = int((lo + hi + 1) / 2)
		if (fo[tp, mid] < x)
			lo = mid
		else
			hi = mid - 1
	}
	return lo
}

BEGIN {
	checkst = "missing"
}

FILENAME ~ /\/ledger$/ {
	if ($1 == "P") {
		nprod[$2 "." $3] = $5
		tprod[$2 "." $3] = $4
	} else if ($1 == "C") {
		ckind[$2 "." $3] = $4
		cgroup[$2 "." $3] = $5
		cstart[$2 "." $3] = $7
	} else if ($1 == "K") {
		kills[$2]++
		nkills++
		midclean += $5
	} else if ($1 == "S" && $5 != "-") {
		gk = $2 SUBSEP $3 SUBSEP $4
		if (gk in lastc && ($5 + 0 < lastc[gk] || $6 + 0 < lastq[gk])) {
			commitsback++
			note("commitsback", $2 " " $3 "-" $4 ": " lastc[gk] \
			    " -> " $5)
		}
		lastc[gk] = $5 + 0
		lastq[gk] = $6 + 0
	} else if ($1 == "E") {
		errors++
		note("errors", $0)
	} else if ($1 == "X") {
		checkst = $3
		if ($3 != 0)
			note("check", $0)
	} else if ($1 == "N")
		cuts++
	else if ($1 == "T") {
		secs = $2
		seed = $3
	}
	next
}

FILENAME ~ /\/starts$/ {
	lstart[$1, $2] = $3 + 0
	lend[$1, $2] = $4 + 0
	next
}

FILENAME ~ /\/segs$/ {
	if (!(($1, $2) in firstseg) || $3 + 0 < firstseg[$1, $2])
		firstseg[$1, $2] = $3 + 0
	if ($3 + 0 > active[$1, $2])
		active[$1, $2] = $3 + 0
	next
}

FILENAME ~ /\/final$/ {
	tp = $1 SUBSEP $2
	if (nf[tp] > 0 && $3 + 0 <= fo[tp, nf[tp]]) {
		nonmonotonic++
		note("nonmonotonic", "final log " $1 "-" $2 " offset " $3)
		next
	}
	fo[tp, ++nf[tp]] = $3 + 0
	fin[$1, $2, $3] = $4
	records++
	if ($1 == "kv") {
		kk = $2 SUBSEP $5
		if (!(kk in maxfin) || $3 + 0 > maxfin[kk])
			maxfin[kk] = $3 + 0
		# After the last clean, the sealed segments hold one record
		# per key.
		if ($3 + 0 < active[$1, $2] && sealedat[kk]++) {
			compaction++
			note("compaction", "kv-" $2 " key " $5 \
			    " twice in the sealed segments")
		}
	}
	if ($1 == "jobs")
		jobs[$4] = 1
	obs($1, $2, $3, $4, $5, "final log")
	next
}

FILENAME ~ /\/dlq$/ {
	dead[$1] = 1
	ndead++
	next
}

FILENAME ~ /\/ack\.[^\/]*$/ {
	if (FNR == 1) {
		pre = FILENAME
		sub(/.*\/ack\./, "", pre)
	}
	v = pre "." FNR
	acked++
	obs($1, $2, $3, v, $1 == "kv" ? keyof(v) : "", "ack")
	fk = $1 SUBSEP $2 SUBSEP $3
	if ((fk in fin) && fin[fk] == v)
		next
	if ($1 == "kv" && (($2, keyof(v)) in maxfin) &&
	    maxfin[$2, keyof(v)] > $3 + 0)
		next
	if ($1 != "kv" && $3 + 0 < lstart[$1, $2])
		next
	lost++
	note("lost", v " acknowledged at " $1 "-" $2 " offset " $3 \
	    ((fk in fin) ? ", the log has " fin[fk] : ", not in the log"))
	next
}

# A group member's notes: the offsets at which it took and gave up each
# partition (-v).  Between a take at N and the give-up at M it owns the
# partition: it must write out the records from N on, with no gap, and
# commit M only when it has written everything below M.
FILENAME ~ /\/err\.[^\/]*$/ {
	if (FNR == 1) {
		r = FILENAME
		sub(/.*\/err\./, "", r)
	}
	if ($2 != "group" || !(r in cgroup))
		next
	if ($4 == "took") {
		tp = $5
		o = $8
	} else if ($4 == "gave" && $5 == "up") {
		tp = $6
		o = $9
	} else
		next
	n = split(tp, a, "-")
	tp = a[1] SUBSEP a[n]
	if ($4 == "took") {
		i = ++nint[r, tp]
		ibeg[r, tp, i] = o + 0
		iend[r, tp, i] = -1
		irun[r, tp] = 1
	} else
		iend[r, tp, nint[r, tp]] = o + 0
	next
}

FILENAME ~ /\/out\.[^\/]*$/ {
	if (FNR == 1) {
		r = FILENAME
		sub(/.*\/out\./, "", r)
		k = ckind[r]
		g = cgroup[r]
	}
	if (k == "clean") {
		if ($0 ~ /compacted/)
			compactions++
		if ($0 ~ /deleted/)
			deletions++
		next
	}
	if (k == "queue")
		next
	reads++
	obs($1, $2, $3, $4, $5, "run " r)
	tp = $1 SUBSEP $2
	o = $3 + 0
	rk = r SUBSEP tp
	if ((rk in lastin) && o <= lastin[rk]) {
		nonmonotonic++
		note("nonmonotonic", "run " r ": " $1 "-" $2 " offset " o \
		    " after " lastin[rk])
		next
	}
	if (g != "-") {
		seen[g, $1, $2, o] = 1
		# The ownership this record was read under.
		if (!(rk in cur))
			cur[rk] = 1
		i = cur[rk]
		while (i <= nint[rk] && iend[rk, i] >= 0 && o >= iend[rk, i])
			i++
		cur[rk] = i
		if (i > nint[rk] || o < ibeg[rk, i]) {
			unowned++
			note("unowned", "run " r ": " $1 "-" $2 " offset " o \
			    " read outside its ownership")
		} else if ((rk SUBSEP i) in ilast) {
			if (below($1, $2, o) - below($1, $2, ilast[rk, i] + 1) > 0) {
				skipped++
				note("skipped", "run " r ": " $1 "-" $2 " from " \
				    ilast[rk, i] " to " o)
			}
		} else {
			ifirst[rk, i] = o
			if (below($1, $2, o) - below($1, $2, ibeg[rk, i]) > 0) {
				skipped++
				note("skipped", "run " r ": " $1 "-" $2 \
				    " took it at " ibeg[rk, i] ", read " o)
			}
		}
		ilast[rk, i] = o
	} else if (rk in lastin) {
		if (below($1, $2, o) - below($1, $2, lastin[rk] + 1) > 0) {
			skipped++
			note("skipped", "run " r ": " $1 "-" $2 " from " \
			    lastin[rk] " to " o)
		}
	} else if (below($1, $2, o) > 0) {
		# Readers start at the beginning.
		skipped++
		note("skipped", "run " r ": " $1 "-" $2 " started at " o)
	}
	if (g == "g2" && !(rk in lastin)) {
		c = cstart[r] == "-" ? 0 : cstart[r] + 0
		if (below($1, $2, o) - below($1, $2, c) > 0) {
			skipped++
			note("skipped", "run " r ": " $1 "-" $2 " resumed at " \
			    o ", committed " c)
		}
		if (o < c)
			reread++
	}
	lastin[rk] = o
	next
}

FILENAME ~ /\/acc$/ {
	obs($1, $2, $3, $4, "", "queue job")
	accepted[$4] = 1
	naccepted++
	next
}

END {
	# Every record below a group's final commit was written out by a
	# member of the group, and the drain took the commit to the end.
	for (gk in lastc) {
		split(gk, a, SUBSEP)
		tp = a[2] SUBSEP a[3]
		for (i = 1; i <= nf[tp] && fo[tp, i] < lastc[gk]; i++) {
			if (!((a[1], a[2], a[3], fo[tp, i]) in seen)) {
				skipped++
				note("skipped", "group " a[1] " never wrote " \
				    a[2] "-" a[3] " offset " fo[tp, i] \
				    " below its commit " lastc[gk])
			}
		}
		if (lastc[gk] != lend[tp]) {
			lag++
			note("lag", "group " a[1] " " a[2] "-" a[3] \
			    " committed " lastc[gk] ", end " lend[tp])
		}
	}
	# A member gave a partition up only after writing out everything
	# below the offset it committed.
	for (rk in irun) {
		split(rk, a, SUBSEP)
		for (i = 1; i <= nint[rk]; i++) {
			if (iend[rk, i] < 0)
				continue
			if ((rk SUBSEP i) in ilast)
				from = ilast[rk, i] + 1
			else
				from = ibeg[rk, i]
			if (below(a[2], a[3], iend[rk, i]) > \
			    below(a[2], a[3], from)) {
				skipped++
				note("skipped", "run " a[1] ": " a[2] "-" a[3] \
				    " gave up at " iend[rk, i] \
				    " having written up to " from)
			}
		}
	}
	# Compaction kept the latest record of each key, in the sealed
	# segments and in all.
	for (kk in lastsealed) {
		split(kk, a, SUBSEP)
		if (!(("kv", a[1], lastsealed[kk]) in fin)) {
			compaction++
			note("compaction", "kv-" a[1] " key " a[2] \
			    ": latest sealed offset " lastsealed[kk] " gone")
		}
	}
	for (kk in lastkey) {
		split(kk, a, SUBSEP)
		if (!(("kv", a[1], lastkey[kk]) in fin)) {
			compaction++
			note("compaction", "kv-" a[1] " key " a[2] \
			    ": latest offset " lastkey[kk] " gone")
		}
	}
	for (tp in lstart) {
		split(tp, a, SUBSEP)
		# Retention removed whole segments, and nothing else went.
		if ((tp in firstseg) && firstseg[tp] != lstart[tp]) {
			retention++
			note("retention", a[1] "-" a[2] " starts at " \
			    lstart[tp] ", oldest segment at " firstseg[tp])
		}
		if (a[1] == "kv")
			continue
		n = lend[tp] - lstart[tp]
		if (nf[tp] != n || (n > 0 && (fo[tp, 1] != lstart[tp] ||
		    fo[tp, nf[tp]] != lend[tp] - 1))) {
			gaps += n > nf[tp] ? n - nf[tp] : 1
			note("gaps", a[1] "-" a[2] ": " nf[tp] " records in " \
			    lstart[tp] ".." lend[tp])
		}
	}
	for (v in jobs) {
		if (!(v in accepted) && !(v in dead)) {
			jobslost++
			note("jobslost", v)
		}
		njobs++
	}

	printf "kills:"
	split("produce-none produce-batch produce-always group-follow " \
	    "group-plain reader queue clean", kind, " ")
	for (i = 1; i <= 8; i++)
		printf " %s=%d", kind[i], kills[kind[i]]
	printf " (mid-clean %d) total=%d;", midclean, nkills
	printf " acknowledged=%d records=%d reads=%d jobs=%d accepted=%d" \
	    " dead=%d reread=%d cuts=%d compactions=%d deletions=%d" \
	    " secs=%d seed=%s;", acked, records, reads, njobs, naccepted,
	    ndead, reread, cuts, compactions, deletions, secs, seed
	printf " lost=%d duplicates=%d inconsistent=%d skipped=%d" \
	    " nonmonotonic=%d unowned=%d garbage=%d gaps=%d lag=%d" \
	    " commitsback=%d jobslost=%d compaction=%d retention=%d" \
	    " errors=%d check=%s\n", lost, duplicates, inconsistent, skipped,
	    nonmonotonic, unowned, garbage, gaps, lag, commitsback, jobslost,
	    compaction, retention, errors, checkst == 0 ? "ok" : "failed"
	if (lost + duplicates + inconsistent + skipped + nonmonotonic + \
	    unowned + garbage + gaps + lag + commitsback + jobslost + \
	    compaction + retention + errors > 0 || checkst != 0 ||
	    records == 0)
		exit 1
}
