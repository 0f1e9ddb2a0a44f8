//go:build unix

package bidi

import (
	"os/exec"
	"syscall"
)

// setProcessGroup starts Firefox in a process group of its own, so that stopping it also
// stops the content processes it started.
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// killProcess stops Firefox's process group (its id is Firefox's own process id).
func killProcess(cmd *exec.Cmd) {
	if cmd.Process == nil {
		return
	}
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
}
