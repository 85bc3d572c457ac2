package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// clockTick is the unit of /proc's CPU times: USER_HZ, 100 on every Linux
// this runs on.
const clockTick = 10 * time.Millisecond

// cpuTime is the CPU time (user and system) the process pid and every
// process below it (the Node.js signer's workers) have used so far, from
// /proc; 0 where there is no /proc.
func cpuTime(pid int) time.Duration {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	children := map[int][]int{}
	used := map[int]time.Duration{}
	for _, path := range stats {
		p, ppid, cpu, ok := readStat(path)
		if !ok {
			continue
		}
		children[ppid] = append(children[ppid], p)
		used[p] = cpu
	}
	var total time.Duration
	var walk func(int)
	walk = func(p int) {
		total += used[p]
		for _, c := range children[p] {
			walk(c)
		}
	}
	walk(pid)
	return total
}

// readStat reads a /proc/PID/stat: the process, its parent, and its user
// and system time.
func readStat(path string) (pid, ppid int, cpu time.Duration, ok bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, 0, false
	}
	// pid (comm) state ppid ... utime stime: comm may hold spaces and
	// parentheses, so the fields are counted from the last ')'.
	end := bytes.LastIndexByte(b, ')')
	open := bytes.IndexByte(b, '(')
	if end < 0 || open < 1 {
		return 0, 0, 0, false
	}
	f := bytes.Fields(b[end+1:])
	if len(f) < 13 {
		return 0, 0, 0, false
	}
	pid, err1 := strconv.Atoi(string(bytes.TrimSpace(b[:open])))
	ppid, err2 := strconv.Atoi(string(f[1]))
	utime, err3 := strconv.ParseInt(string(f[11]), 10, 64)
	stime, err4 := strconv.ParseInt(string(f[12]), 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || err4 != nil {
		return 0, 0, 0, false
	}
	return pid, ppid, time.Duration(utime+stime) * clockTick, true
}
