// errors: each wrong call a caller can make, with the errdefs class and text it gets back. The
// report maps a call's name to {class, error}; containerd 1.6's server code is the reference.
package main

import (
	"context"
	"syscall"
	"time"

	"../common"
	"github.com/containerd/containerd"
	"github.com/containerd/containerd/api/services/tasks/v1"
	"github.com/containerd/containerd/cio"
	"github.com/containerd/containerd/content"
	"github.com/containerd/containerd/errdefs"
	"github.com/containerd/containerd/leases"
	"github.com/containerd/containerd/namespaces"
	"github.com/containerd/containerd/oci"
	"github.com/containerd/containerd/snapshots"
	digest "github.com/opencontainers/go-digest"
)

func main() {
	client, r := common.Connect()
	defer client.Close()
	ctx, cancel := common.Context()
	defer cancel()
	outcomes := map[string]map[string]string{}
	try := func(name string, err error) { outcomes[name] = common.Outcome(err) }
	// Calls on a raw service client get the gRPC status; the client's methods convert it so.
	tryRaw := func(name string, err error) { try(name, errdefs.FromGRPC(err)) }

	image := common.ImportImage(ctx, client, r)

	_, err := client.LoadContainer(ctx, "missing")
	try("LoadContainer missing", err)
	_, err = client.GetImage(ctx, "docker.io/library/missing:1")
	try("GetImage missing", err)
	try("ImageService Delete missing", client.ImageService().Delete(ctx, "docker.io/library/missing:1"))
	_, err = client.ContentStore().Info(ctx, digest.FromString("missing"))
	try("Content Info missing", err)
	_, err = client.SnapshotService("overlayfs").Stat(ctx, "missing")
	try("Snapshot Stat missing", err)
	_, err = client.SnapshotService("nosuch").Stat(ctx, "missing")
	try("Snapshot Stat unknown snapshotter", err)
	try("Lease Delete missing", client.LeasesService().Delete(ctx, leases.Lease{ID: "missing"}))
	_, err = client.LeasesService().Create(ctx, leases.WithID("twice"))
	r.Must("Lease Create", err)
	_, err = client.LeasesService().Create(ctx, leases.WithID("twice"))
	try("Lease Create duplicate", err)
	_, err = client.NamespaceService().Labels(ctx, "nosuchns")
	try("Namespace Labels missing", err)
	try("Namespace Delete missing", client.NamespaceService().Delete(ctx, "nosuchns"))
	try("Namespace Create invalid", client.NamespaceService().Create(ctx, "bad name!", nil))

	newContainer := func(id string, args ...string) (containerd.Container, error) {
		return client.NewContainer(ctx, id,
			containerd.WithImage(image),
			containerd.WithNewSnapshot(id+"-snapshot", image),
			containerd.WithNewSpec(oci.WithImageConfig(image), oci.WithProcessArgs(args...)),
		)
	}
	c, err := newContainer("errs", "sleep", "3600")
	r.Must("NewContainer", err)
	_, err = client.NewContainer(ctx, "errs", containerd.WithNewSpec())
	try("NewContainer duplicate", err)
	_, err = client.NewContainer(ctx, "bad id!", containerd.WithNewSpec())
	try("NewContainer invalid id", err)
	_, err = client.NewContainer(ctx, "nospec")
	try("NewContainer without spec", err)
	_, err = client.NewContainer(ctx, "same-snapshot", containerd.WithNewSnapshot("errs-snapshot", image), containerd.WithNewSpec())
	try("NewContainer existing snapshot key", err)
	_, err = client.SnapshotService("overlayfs").Prepare(ctx, "errs-snapshot", "")
	try("Snapshot Prepare existing key", err)
	_, err = client.SnapshotService("overlayfs").Prepare(ctx, "orphan", "sha256:0000000000000000000000000000000000000000000000000000000000000000")
	try("Snapshot Prepare missing parent", err)
	var committed []string
	r.Must("Snapshot Walk", client.SnapshotService("overlayfs").Walk(ctx, func(_ context.Context, i snapshots.Info) error {
		if i.Kind == snapshots.KindCommitted {
			committed = append(committed, i.Name)
		}
		return nil
	}))
	if len(committed) > 0 {
		try("Snapshot Remove with children", client.SnapshotService("overlayfs").Remove(ctx, committed[0]))
	}

	_, err = c.Task(ctx, nil)
	try("Task without one", err)
	_, err = client.TaskService().Get(ctx, &tasks.GetRequest{ContainerID: "errs"})
	tryRaw("TaskService Get without one", err)
	_, err = client.TaskService().Get(ctx, &tasks.GetRequest{ContainerID: "missing"})
	tryRaw("TaskService Get missing container", err)
	_, err = client.TaskService().Start(ctx, &tasks.StartRequest{ContainerID: "errs"})
	tryRaw("TaskService Start without one", err)

	task, err := c.NewTask(ctx, cio.NullIO)
	r.Must("NewTask", err)
	_, err = c.NewTask(ctx, cio.NullIO)
	try("NewTask again", err)
	try("Kill created", task.Kill(ctx, syscall.Signal(0)))
	spec, err := c.Spec(ctx)
	r.Must("Spec", err)
	_, err = task.Exec(ctx, "early", spec.Process, cio.NullIO)
	try("Exec in a created task", err)
	try("Pause created", task.Pause(ctx))
	try("Resume created", task.Resume(ctx))
	r.Must("Start", task.Start(ctx))
	try("Start again", task.Start(ctx))
	_, err = task.Delete(ctx)
	try("Delete running (client)", err)
	_, err = client.TaskService().Delete(ctx, &tasks.DeleteTaskRequest{ContainerID: "errs"})
	tryRaw("TaskService Delete running", err)
	try("Container Delete with a running task (client)", c.Delete(ctx))
	try("ContainerService Delete with a running task", client.ContainerService().Delete(ctx, "errs"))
	try("Resume running", task.Resume(ctx))
	r.Must("Pause", task.Pause(ctx))
	try("Pause paused", task.Pause(ctx))
	_, err = task.Exec(ctx, "while-paused", spec.Process, cio.NullIO)
	try("Exec in a paused task", err)
	try("Start paused", task.Start(ctx))
	_, err = client.TaskService().Delete(ctx, &tasks.DeleteTaskRequest{ContainerID: "errs"})
	tryRaw("TaskService Delete paused", err)
	r.Must("Resume", task.Resume(ctx))
	p, err := task.Exec(ctx, "e1", spec.Process, cio.NullIO)
	r.Must("Exec", err)
	_, err = task.Exec(ctx, "e1", spec.Process, cio.NullIO)
	try("Exec duplicate id", err)
	_, err = task.Exec(ctx, "bad id!", spec.Process, cio.NullIO)
	try("Exec invalid id", err)
	try("Kill created exec", p.Kill(ctx, syscall.SIGKILL))
	_, err = p.Delete(ctx)
	try("Delete created exec", err)
	_, err = task.LoadProcess(ctx, "nosuch", nil)
	try("LoadProcess missing", err)
	_, err = client.TaskService().Kill(ctx, killRequest("errs", "nosuch"))
	tryRaw("Kill missing exec", err)
	_, err = client.TaskService().Kill(ctx, killRequest("missing", ""))
	tryRaw("Kill missing container", err)
	_, err = client.TaskService().DeleteProcess(ctx, &tasks.DeleteProcessRequest{ContainerID: "errs", ExecID: "nosuch"})
	tryRaw("DeleteProcess missing", err)

	wait, err := task.Wait(ctx)
	r.Must("Wait", err)
	r.Must("Kill", task.Kill(ctx, syscall.SIGKILL))
	select {
	case <-wait:
	case <-time.After(10 * time.Second):
	}
	try("Kill stopped", task.Kill(ctx, syscall.SIGKILL))
	try("Pause stopped", task.Pause(ctx))
	try("Resume stopped", task.Resume(ctx))
	try("Start stopped", task.Start(ctx))
	_, err = task.Exec(ctx, "late", spec.Process, cio.NullIO)
	try("Exec in a stopped task", err)
	_, err = task.Delete(ctx)
	r.Must("Delete", err)
	_, err = task.Delete(ctx)
	try("Delete deleted", err)
	try("Namespace Delete not empty", client.NamespaceService().Delete(ctx, *common.Namespace))
	// containerd lets a container's snapshot go (the container keeps only its name).
	try("Snapshot Remove of a container's", client.SnapshotService("overlayfs").Remove(ctx, "errs-snapshot"))
	r.Must("Container Delete", c.Delete(ctx, containerd.WithSnapshotCleanup))
	try("Container Delete again", c.Delete(ctx))
	try("ContainerService Delete again", client.ContainerService().Delete(ctx, "errs"))
	try("ContainerService Delete in a namespace without containers", client.ContainerService().Delete(namespaces.WithNamespace(ctx, "nocontainers"), "x"))

	// A task killed before it starts ends as runc's init does: 128 + the signal.
	k, err := client.NewContainer(ctx, "killed", containerd.WithNewSpec(oci.WithProcessArgs("sleep", "3600")))
	r.Must("NewContainer killed", err)
	kt, err := k.NewTask(ctx, cio.NullIO)
	r.Must("NewTask killed", err)
	kwait, err := kt.Wait(ctx)
	r.Must("Wait killed", err)
	try("Kill created with SIGKILL", kt.Kill(ctx, syscall.SIGKILL))
	select {
	case s := <-kwait:
		r["killedCreatedExit"] = s.ExitCode()
	case <-time.After(10 * time.Second):
	}
	kdel, err := kt.Delete(ctx)
	r.Must("Delete killed", err)
	r["killedCreatedDeleteExit"] = kdel.ExitCode()
	r.Must("Delete container killed", k.Delete(ctx))

	w, err := client.ContentStore().Writer(ctx, content.WithRef("held"))
	r.Must("Writer", err)
	_, err = client.ContentStore().Writer(ctx, content.WithRef("held"))
	try("Content Writer same ref", err)
	_, err = w.Write([]byte("abc"))
	r.Must("Write", err)
	try("Content Commit wrong digest", w.Commit(ctx, 3, digest.FromString("other")))
	w.Close()

	r["outcomes"] = outcomes
	r.Print()
}

func killRequest(id, execID string) *tasks.KillRequest {
	return &tasks.KillRequest{ContainerID: id, ExecID: execID, Signal: uint32(syscall.SIGKILL)}
}
