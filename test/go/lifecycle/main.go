// lifecycle: what most callers of the Go client do. Connect with a default namespace that holds
// nothing, import an OCI archive and unpack it, make a container from it, run a task to its end
// reading its output, run a long one (exec, pause, resume, pids, metrics, update, kill, delete), and
// see the events of it all.
package main

import (
	"context"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"../common"
	v1stats "github.com/containerd/cgroups/stats/v1"
	v2stats "github.com/containerd/cgroups/v2/stats"
	"github.com/containerd/containerd"
	apievents "github.com/containerd/containerd/api/events"
	"github.com/containerd/containerd/cio"
	"github.com/containerd/containerd/events"
	"github.com/containerd/containerd/oci"
	"github.com/containerd/typeurl"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// probeTopic is published until every subscription has seen it.
const probeTopic = "/goclient/probe"

func main() {
	client, r := common.Connect()
	defer client.Close()
	ctx, cancel := common.Context()
	defer cancel()

	serving, err := client.IsServing(ctx)
	r.Must("IsServing", err)
	r["serving"] = serving
	version, err := client.Version(ctx)
	r.Must("Version", err)
	r["version"] = version.Version

	// Events of the client's namespace, from before anything is made in it. Each subscription also
	// takes a probe topic: once every one has seen a probe published, all are live on the server
	// (at the start) and have had every event published before it (at the end).
	subCtx, stopEvents := context.WithCancel(ctx)
	var eventsDone sync.WaitGroup
	var probes []chan struct{}
	subscribe := func(filter string, handle func(*events.Envelope)) {
		ch, errs := client.Subscribe(subCtx, filter, `topic=="`+probeTopic+`"`)
		probed := make(chan struct{}, 1000)
		probes = append(probes, probed)
		eventsDone.Add(1)
		go func() {
			defer eventsDone.Done()
			for {
				select {
				case e := <-ch:
					if e.Topic == probeTopic {
						probed <- struct{}{}
					} else {
						handle(e)
					}
				case <-errs:
					return
				}
			}
		}()
	}
	var topics []string
	var exits, creates []map[string]interface{}
	subscribe(`namespace=="`+*common.Namespace+`",topic~="^/(tasks|containers)/"`, func(e *events.Envelope) {
		v, err := typeurl.UnmarshalAny(e.Event)
		if err != nil {
			topics = append(topics, e.Topic+" (undecodable: "+err.Error()+")")
			return
		}
		topics = append(topics, e.Topic)
		if create, ok := v.(*apievents.TaskCreate); ok {
			var types []string
			for _, m := range create.Rootfs {
				types = append(types, m.Type)
			}
			creates = append(creates, map[string]interface{}{"container": create.ContainerID, "rootfs": types, "pidSet": create.Pid > 0, "stdout": create.IO.Stdout != ""})
		}
		if exit, ok := v.(*apievents.TaskExit); ok {
			exits = append(exits, map[string]interface{}{"container": exit.ContainerID, "id": exit.ID, "status": exit.ExitStatus})
		}
	})
	// Two more: only exits, and what an import and unpack publish.
	var exitTopics, imageTopics []string
	subscribe(`topic=="/tasks/exit"`, func(e *events.Envelope) { exitTopics = append(exitTopics, e.Topic) })
	subscribe(`namespace=="`+*common.Namespace+`",topic~="^/(images|snapshot|content)/"`, func(e *events.Envelope) {
		imageTopics = append(imageTopics, e.Topic)
	})
	synced := func() {
		for _, probed := range probes {
			for len(probed) > 0 {
				<-probed
			}
		}
		for _, probed := range probes {
			for waiting := true; waiting; {
				r.Must("Publish probe", client.EventService().Publish(ctx, probeTopic, &apievents.ContainerCreate{ID: "probe"}))
				select {
				case <-probed:
					waiting = false
				case <-time.After(50 * time.Millisecond):
				}
			}
		}
	}
	synced()

	f, err := os.Open(*common.Archive)
	r.Must("open archive", err)
	imgs, err := client.Import(ctx, f)
	f.Close()
	r.Must("Import", err)
	var names []string
	for _, i := range imgs {
		names = append(names, i.Name)
	}
	r["imported"] = names
	image := containerd.NewImage(client, imgs[0])
	unpacked, err := image.IsUnpacked(ctx, "overlayfs")
	r.Must("IsUnpacked", err)
	r["unpackedBefore"] = unpacked
	r.Must("Unpack", image.Unpack(ctx, "overlayfs"))
	unpacked, err = image.IsUnpacked(ctx, "overlayfs")
	r.Must("IsUnpacked", err)
	r["unpackedAfter"] = unpacked
	size, err := image.Size(ctx)
	r.Must("image Size", err)
	r["imageSize"] = size

	// A short task: its output, Wait before Start, the exit status from Wait and from Delete.
	short, err := client.NewContainer(ctx, "short",
		containerd.WithImage(image),
		containerd.WithNewSnapshot("short-snapshot", image),
		containerd.WithNewSpec(oci.WithImageConfig(image), oci.WithProcessArgs("sh", "-c", "echo out; echo err >&2; exit 3")),
	)
	r.Must("NewContainer short", err)
	var stdout, stderr common.Buffer
	task, err := short.NewTask(ctx, cio.NewCreator(cio.WithStreams(nil, &stdout, &stderr), cio.WithFIFODir(*common.FIFODir)))
	r.Must("NewTask short", err)
	st, err := task.Status(ctx)
	r.Must("Status short", err)
	r["shortCreated"] = string(st.Status)
	_, err = task.Metrics(ctx)
	r["shortCreatedMetrics"] = common.Outcome(err)
	wait, err := task.Wait(ctx)
	r.Must("Wait short", err)
	r.Must("Start short", task.Start(ctx))
	exit := <-wait
	code, exitedAt, err := exit.Result()
	r.Must("exit short", err)
	task.IO().Wait()
	r["shortExit"] = code
	r["shortExitedAtSet"] = !exitedAt.IsZero()
	r["shortStdout"] = stdout.String()
	r["shortStderr"] = stderr.String()
	deleted, err := task.Delete(ctx)
	r.Must("Delete short", err)
	r["shortDeleteExit"] = deleted.ExitCode()
	r["shortDeleteSameTime"] = deleted.ExitTime().Equal(exitedAt)
	r.Must("Delete container short", short.Delete(ctx, containerd.WithSnapshotCleanup))

	// A long task: exec, pause, resume, pids, metrics, update, kill.
	long, err := client.NewContainer(ctx, "long",
		containerd.WithImage(image),
		containerd.WithNewSnapshot("long-snapshot", image),
		containerd.WithNewSpec(oci.WithImageConfig(image), oci.WithProcessArgs("sleep", "3600")),
	)
	r.Must("NewContainer long", err)
	ltask, err := long.NewTask(ctx, cio.NullIO)
	r.Must("NewTask long", err)
	lwait, err := ltask.Wait(ctx)
	r.Must("Wait long", err)
	r.Must("Start long", ltask.Start(ctx))
	r["longPidSet"] = ltask.Pid() > 0
	st, err = ltask.Status(ctx)
	r.Must("Status long", err)
	r["longRunning"] = string(st.Status)

	exec := func(id string, args ...string) map[string]interface{} {
		spec, err := long.Spec(ctx)
		r.Must("Spec", err)
		pspec := *spec.Process
		pspec.Args = args
		var out, errb common.Buffer
		p, err := ltask.Exec(ctx, id, &pspec, cio.NewCreator(cio.WithStreams(nil, &out, &errb), cio.WithFIFODir(*common.FIFODir)))
		r.Must("Exec "+id, err)
		pw, err := p.Wait(ctx)
		r.Must("Wait exec "+id, err)
		r.Must("Start exec "+id, p.Start(ctx))
		status := <-pw
		p.IO().Wait()
		del, err := p.Delete(ctx)
		r.Must("Delete exec "+id, err)
		return map[string]interface{}{"exit": status.ExitCode(), "deleteExit": del.ExitCode(), "stdout": out.String(), "stderr": errb.String()}
	}
	r["exec"] = exec("exec-1", "sh", "-c", "echo from exec; cat /etc/greeting; exit 4")

	r.Must("Pause", ltask.Pause(ctx))
	st, err = ltask.Status(ctx)
	r.Must("Status paused", err)
	r["paused"] = string(st.Status)
	r.Must("Resume", ltask.Resume(ctx))
	st, err = ltask.Status(ctx)
	r.Must("Status resumed", err)
	r["resumed"] = string(st.Status)

	pids, err := ltask.Pids(ctx)
	r.Must("Pids", err)
	var pidList []uint32
	for _, p := range pids {
		pidList = append(pidList, p.Pid)
	}
	r["pids"] = pidList
	r["pidsHasTaskPid"] = len(pids) > 0 && pids[0].Pid == ltask.Pid()

	metrics := func() map[string]interface{} {
		m, err := ltask.Metrics(ctx)
		r.Must("Metrics", err)
		v, err := typeurl.UnmarshalAny(m.Data)
		r.Must("UnmarshalAny metrics", err)
		switch s := v.(type) {
		case *v2stats.Metrics:
			out := map[string]interface{}{"type": m.Data.TypeUrl}
			if s.Pids != nil {
				out["pids"] = s.Pids.Current
				out["pidsLimit"] = strconv.FormatUint(s.Pids.Limit, 10)
			}
			if s.Memory != nil {
				out["memoryUsage"] = s.Memory.Usage
				out["memoryLimit"] = strconv.FormatUint(s.Memory.UsageLimit, 10)
			}
			if s.CPU != nil {
				out["cpuUsageUsec"] = s.CPU.UsageUsec
			}
			return out
		case *v1stats.Metrics:
			out := map[string]interface{}{"type": m.Data.TypeUrl}
			if s.Memory != nil && s.Memory.Usage != nil {
				out["memoryUsage"] = s.Memory.Usage.Usage
				out["memoryLimit"] = strconv.FormatUint(s.Memory.Usage.Limit, 10)
			}
			return out
		default:
			return map[string]interface{}{"type": m.Data.TypeUrl}
		}
	}
	r["metrics"] = metrics()

	limit := int64(64 * 1024 * 1024)
	r.Must("Update", ltask.Update(ctx, containerd.WithResources(&specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: &limit}})))
	r["memoryMaxAfterUpdate"] = strings.TrimSpace(exec("exec-2", "cat", "/sys/fs/cgroup/memory.max")["stdout"].(string))
	r["metricsAfterUpdate"] = metrics()

	r.Must("Kill", ltask.Kill(ctx, syscall.SIGKILL))
	lexit := <-lwait
	r["longExit"] = lexit.ExitCode()
	ldel, err := ltask.Delete(ctx)
	r.Must("Delete long", err)
	r["longDeleteExit"] = ldel.ExitCode()
	r.Must("Delete container long", long.Delete(ctx, containerd.WithSnapshotCleanup))

	// Every event so far has arrived once a probe published now has; then stop listening.
	synced()
	stopEvents()
	eventsDone.Wait()
	r["topics"] = topics
	r["exitTopics"] = exitTopics
	r["imageTopics"] = imageTopics
	r["exits"] = exits
	r["taskCreates"] = creates

	r.Print()
}
