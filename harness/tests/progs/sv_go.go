// sv_go.go - a Go endpoint server for test_supervisor.
//
// Go makes raw syscalls (no libc, so no LD_PRELOAD) from several runtime
// threads and preempts goroutines with signals: the cases an interposer
// misses. Usage: sv_go DIR MODE - binds DIR/sock by a relative name through
// net.Listen, chmods it, and prints what it saw, in sv_prog's format.
package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"strconv"
	"syscall"
	"time"
)

func report(op string, err error, start time.Time) {
	errno := 0
	if err != nil {
		var en syscall.Errno
		if errors.As(err, &en) {
			errno = int(en)
		} else {
			errno = -1
		}
	}
	rc := 0
	if err != nil {
		rc = -1
	}
	fmt.Printf("%s rc=%d errno=%d pid=%d tid=%d ns=%d\n", op, rc, errno,
		os.Getpid(), syscall.Gettid(), time.Since(start).Nanoseconds())
}

func main() {
	// The chmod below and the tid printed after it come from one thread.
	runtime.LockOSThread()
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: sv_go DIR MODE")
		os.Exit(2)
	}
	mode, err := strconv.ParseUint(os.Args[2], 8, 32)
	if err != nil {
		os.Exit(2)
	}
	if err := os.Chdir(os.Args[1]); err != nil {
		os.Exit(1)
	}
	start := time.Now()
	l, err := net.Listen("unix", "sock")
	report("listen", err, start)
	if err != nil {
		os.Exit(1)
	}
	start = time.Now()
	err = os.Chmod("sock", os.FileMode(mode))
	report("chmod", err, start)
	// Keep the socket file: the test removes its directory.
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()
}
