// stdio: a long-running task that reads its stdin (a pipe through cio's FIFOs) and answers each
// line; the program waits for each answer before it sends the next, then closes stdin (CloseIO)
// and the task ends. The same for an exec'd cat.
package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"../common"
	"github.com/containerd/containerd"
	"github.com/containerd/containerd/cio"
	"github.com/containerd/containerd/oci"
	"github.com/containerd/containerd/runtime/v2/runc/options"
	"github.com/containerd/typeurl"
)

// waitFor polls until the output holds want, or gives up after a few seconds.
func waitFor(b *common.Buffer, want string) bool {
	for i := 0; i < 100; i++ {
		if strings.Contains(b.String(), want) {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

// converse writes each line once the answer to the one before has come, closes stdin, and
// returns what the process wrote and how it ended.
func converse(ctx context.Context, r common.Report, p containerd.Process, in *io.PipeWriter, out *common.Buffer, lines []string, answer func(string) string, meanwhile func()) map[string]interface{} {
	wait, err := p.Wait(ctx)
	r.Must("Wait", err)
	r.Must("Start", p.Start(ctx))
	answered := []bool{}
	for _, l := range lines {
		_, err := in.Write([]byte(l + "\n"))
		r.Must("write stdin", err)
		answered = append(answered, waitFor(out, answer(l)))
	}
	meanwhile()
	in.Close()
	r.Must("CloseIO", p.CloseIO(ctx, containerd.WithStdinCloser))
	var code uint32 = 999
	select {
	case s := <-wait:
		code = s.ExitCode()
	case <-time.After(10 * time.Second):
	}
	p.IO().Wait()
	return map[string]interface{}{"stdout": out.String(), "answered": answered, "exit": code}
}

func main() {
	client, r := common.Connect()
	defer client.Close()
	ctx, cancel := common.Context()
	defer cancel()

	image := common.ImportImage(ctx, client, r)

	c, err := client.NewContainer(ctx, "echo",
		containerd.WithNewSnapshot("echo-snapshot", image),
		containerd.WithNewSpec(oci.WithImageConfig(image),
			oci.WithProcessArgs("sh", "-c", `while read line; do echo "got $line"; done; echo bye`)),
	)
	r.Must("NewContainer", err)
	inR, inW := io.Pipe()
	var out common.Buffer
	task, err := c.NewTask(ctx, cio.NewCreator(cio.WithStreams(inR, &out, &out), cio.WithFIFODir(*common.FIFODir)))
	r.Must("NewTask", err)
	r["task"] = converse(ctx, r, task, inW, &out, []string{"one", "two", "three"}, func(l string) string { return "got " + l }, func() {})
	_, err = task.Delete(ctx)
	r.Must("Delete", err)
	r.Must("Delete container", c.Delete(ctx, containerd.WithSnapshotCleanup))

	// An exec'd cat in a running task.
	c, err = client.NewContainer(ctx, "sleeper",
		containerd.WithNewSnapshot("sleeper-snapshot", image),
		containerd.WithNewSpec(oci.WithImageConfig(image), oci.WithProcessArgs("sleep", "3600")),
	)
	r.Must("NewContainer sleeper", err)
	task, err = c.NewTask(ctx, cio.NullIO)
	r.Must("NewTask sleeper", err)
	spec, err := c.Spec(ctx)
	r.Must("Spec", err)
	r.Must("Start", task.Start(ctx))
	pspec := *spec.Process
	pspec.Args = []string{"cat"}
	execIn, execInW := io.Pipe()
	var execOut common.Buffer
	p, err := task.Exec(ctx, "cat", &pspec, cio.NewCreator(cio.WithStreams(execIn, &execOut, &execOut), cio.WithFIFODir(*common.FIFODir)))
	r.Must("Exec", err)
	r["exec"] = converse(ctx, r, p, execInW, &execOut, []string{"alpha", "beta"}, func(l string) string { return l }, func() {
		// While cat runs: the task's processes, the exec named in its info as the runc shim does.
		pids, err := task.Pids(ctx)
		r.Must("Pids", err)
		var seen []map[string]interface{}
		for _, pi := range pids {
			entry := map[string]interface{}{"isInit": pi.Pid == task.Pid()}
			if pi.Info != nil {
				v, err := typeurl.UnmarshalAny(pi.Info)
				r.Must("UnmarshalAny pid info", err)
				entry["info"] = pi.Info.TypeUrl
				if d, ok := v.(*options.ProcessDetails); ok {
					entry["execID"] = d.ExecID
				}
			}
			seen = append(seen, entry)
		}
		r["pidsDuringExec"] = seen
	})
	_, err = p.Delete(ctx)
	r.Must("Delete exec", err)

	// An exec with a terminal: it takes a window size (Resize); the terminal echoes input and ends lines with CR LF.
	pspec.Args = []string{"sh", "-c", "echo ready; read line; echo \"read $line\""}
	pspec.Terminal = true
	ttyIn, ttyInW := io.Pipe()
	var ttyOut common.Buffer
	tp, err := task.Exec(ctx, "tty", &pspec, cio.NewCreator(cio.WithStreams(ttyIn, &ttyOut, nil), cio.WithTerminal, cio.WithFIFODir(*common.FIFODir)))
	r.Must("Exec tty", err)
	tw, err := tp.Wait(ctx)
	r.Must("Wait tty", err)
	r.Must("Start tty", tp.Start(ctx))
	r.Must("Resize", tp.Resize(ctx, 100, 30))
	r["ttyReady"] = waitFor(&ttyOut, "ready")
	_, err = ttyInW.Write([]byte("typed\r"))
	r.Must("write tty", err)
	var ttyCode uint32 = 999
	select {
	case s := <-tw:
		ttyCode = s.ExitCode()
	case <-time.After(10 * time.Second):
	}
	ttyInW.Close()
	tp.IO().Wait()
	r["tty"] = map[string]interface{}{"exit": ttyCode, "output": ttyOut.String()}
	_, err = tp.Delete(ctx)
	r.Must("Delete tty", err)
	r.Must("Kill", task.Kill(ctx, 9))
	wait, err := task.Wait(ctx)
	r.Must("Wait", err)
	<-wait
	_, err = task.Delete(ctx)
	r.Must("Delete", err)
	r.Must("Delete container", c.Delete(ctx, containerd.WithSnapshotCleanup))

	// Output to a log file (cio.LogFile: file://), and to a logging binary (cio.BinaryIO:
	// binary://), which the fake must never run: here it would create a marker file.
	logPath := filepath.Join(*common.FIFODir, "logs", "task.log")
	r["logFile"] = runLogged(ctx, client, image, r, "logged", cio.LogFile(logPath))
	content, err := os.ReadFile(logPath)
	r.Must("read log file", err)
	r["logFileContent"] = string(content)
	marker := filepath.Join(*common.FIFODir, "binary-ran")
	r["binaryLog"] = runLogged(ctx, client, image, r, "binary-logged", cio.BinaryIO("/usr/bin/touch", map[string]string{marker: ""}))
	_, err = os.Stat(marker)
	r["binaryRan"] = err == nil
	r.Print()
}

// runLogged runs a task that writes to stdout and stderr with the given IO and returns its exit code.
func runLogged(ctx context.Context, client *containerd.Client, image containerd.Image, r common.Report, id string, creator cio.Creator) uint32 {
	c, err := client.NewContainer(ctx, id,
		containerd.WithNewSnapshot(id+"-snapshot", image),
		containerd.WithNewSpec(oci.WithImageConfig(image), oci.WithProcessArgs("sh", "-c", "echo out; echo err >&2")),
	)
	r.Must("NewContainer "+id, err)
	task, err := c.NewTask(ctx, creator)
	r.Must("NewTask "+id, err)
	wait, err := task.Wait(ctx)
	r.Must("Wait "+id, err)
	r.Must("Start "+id, task.Start(ctx))
	status := <-wait
	_, err = task.Delete(ctx)
	r.Must("Delete "+id, err)
	r.Must("Delete container "+id, c.Delete(ctx, containerd.WithSnapshotCleanup))
	return status.ExitCode()
}
