// client2: what callers of containerd 2.x's Go client (github.com/containerd/containerd/v2/client)
// do against the fake: connect, import and unpack through Transfer (with progress), tag through
// Transfer, a container and task with stdio from the imported image, the sandbox store's view of a
// CRI pod, events, a push to and a pull from a registry through Transfer (registry.NewOCIRegistry,
// its credentials from a helper the server asks over the auth stream), and the errdefs classes of
// wrong calls (refused credentials, a missing repository, a missing sandbox, a missing image).
// Self-contained (no ../common): that package is built against the 1.6 client.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/transfer"
	"github.com/containerd/containerd/v2/core/transfer/archive"
	"github.com/containerd/containerd/v2/core/transfer/image"
	"github.com/containerd/containerd/v2/core/transfer/registry"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/containerd/v2/pkg/oci"
	"github.com/containerd/errdefs"
	"github.com/containerd/platforms"
)

var (
	socket    = flag.String("socket", "", "the fake's socket path")
	namespace = flag.String("namespace", "go2", "the namespace to work in")
	archiveAt = flag.String("archive", "", "an OCI image archive to import")
	fifoDir   = flag.String("fifo-dir", os.TempDir(), "where cio makes the stdio FIFOs")
	pod       = flag.String("pod", "", "a CRI pod sandbox id in k8s.io")
	regHost   = flag.String("registry", "", "a plain-HTTP registry host:port that wants -user and -password (none: no registry steps)")
	user      = flag.String("user", "", "the registry's user name")
	password  = flag.String("password", "", "the registry's password")
)

// helper answers the server's credential questions (the auth stream) and counts them by host.
type helper struct {
	user, secret string
	asked        []string
}

func (h *helper) GetCredentials(ctx context.Context, ref, host string) (registry.Credentials, error) {
	h.asked = append(h.asked, host)
	return registry.Credentials{Host: host, Username: h.user, Secret: h.secret}, nil
}

type report map[string]interface{}

// class names an error's errdefs class.
func class(err error) string {
	switch {
	case err == nil:
		return ""
	case errdefs.IsNotFound(err):
		return "NotFound"
	case errdefs.IsNotImplemented(err):
		return "NotImplemented"
	case errdefs.IsInvalidArgument(err):
		return "InvalidArgument"
	case errdefs.IsAlreadyExists(err):
		return "AlreadyExists"
	case errdefs.IsFailedPrecondition(err):
		return "FailedPrecondition"
	}
	return "Unknown"
}

func main() {
	flag.Parse()
	r := report{}
	fail := func(step string, err error) {
		r["failed"] = map[string]string{"step": step, "error": err.Error(), "class": class(err)}
		_ = json.NewEncoder(os.Stdout).Encode(r)
		os.Exit(1)
	}
	c, err := client.New(*socket, client.WithDefaultNamespace(*namespace))
	if err != nil {
		fail("connect", err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(namespaces.WithNamespace(context.Background(), *namespace), time.Minute)
	defer cancel()
	serving, err := c.IsServing(ctx)
	if err != nil {
		fail("serving", err)
	}
	r["serving"] = serving

	events, errs := c.Subscribe(ctx, `topic~="/images/|/content/create"`)

	// Import and unpack through Transfer, names from the archive's annotations.
	f, err := os.Open(*archiveAt)
	if err != nil {
		fail("open archive", err)
	}
	var progress []string
	store := image.NewStore("",
		image.WithNamedPrefix("import-go2", true),
		image.WithPlatforms(platforms.DefaultSpec()),
		image.WithUnpack(platforms.DefaultSpec(), "overlayfs"))
	err = c.Transfer(ctx, archive.NewImageImportStream(f, ""), store, transfer.WithProgress(func(p transfer.Progress) {
		progress = append(progress, strings.TrimSpace(p.Event+" "+p.Name))
	}))
	f.Close()
	if err != nil {
		fail("import", err)
	}
	r["progress"] = progress
	imgs, err := c.ListImages(ctx)
	if err != nil {
		fail("list images", err)
	}
	var names []string
	for _, i := range imgs {
		names = append(names, i.Name())
	}
	sort.Strings(names)
	r["imported"] = names
	if len(imgs) != 1 {
		fail("imported", fmt.Errorf("want one image, have %v", names))
	}
	img := imgs[0]
	unpacked, err := img.IsUnpacked(ctx, "overlayfs")
	if err != nil {
		fail("is unpacked", err)
	}
	r["unpacked"] = unpacked

	// Tag: image store to image store.
	if err := c.Transfer(ctx, image.NewStore(img.Name()), image.NewStore(img.Name()+"-tagged")); err != nil {
		fail("tag", err)
	}
	tagged, err := c.GetImage(ctx, img.Name()+"-tagged")
	if err != nil {
		fail("get tagged", err)
	}
	r["taggedSameTarget"] = tagged.Target().Digest == img.Target().Digest

	// A container and a task from the image, stdout through cio's FIFOs.
	container, err := c.NewContainer(ctx, "go2-task",
		client.WithNewSnapshot("go2-task-snap", img),
		client.WithNewSpec(oci.WithImageConfig(img), oci.WithProcessArgs("cat", "/etc/greeting")))
	if err != nil {
		fail("new container", err)
	}
	var stdout, stderr bytes.Buffer
	task, err := container.NewTask(ctx, cio.NewCreator(cio.WithStreams(nil, &stdout, &stderr), cio.WithFIFODir(*fifoDir)))
	if err != nil {
		fail("new task", err)
	}
	exitCh, err := task.Wait(ctx)
	if err != nil {
		fail("wait", err)
	}
	if err := task.Start(ctx); err != nil {
		fail("start", err)
	}
	status := <-exitCh
	code, _, _ := status.Result()
	// The output is all there once the copying ends (the task's side of the FIFOs closed).
	task.IO().Wait()
	if _, err := task.Delete(ctx); err != nil {
		fail("delete task", err)
	}
	if err := container.Delete(ctx, client.WithSnapshotCleanup); err != nil {
		fail("delete container", err)
	}
	r["taskExit"] = code
	r["taskStdout"] = stdout.String()
	r["taskStderr"] = stderr.String()

	// The sandbox store: a CRI pod in k8s.io.
	k8s := namespaces.WithNamespace(ctx, "k8s.io")
	sandboxes, err := c.SandboxStore().List(k8s)
	if err != nil {
		fail("list sandboxes", err)
	}
	for _, s := range sandboxes {
		if s.ID == *pod {
			r["podSandbox"] = map[string]string{"sandboxer": s.Sandboxer, "runtime": s.Runtime.Name}
		}
	}

	// Wrong calls: their errdefs classes.
	_, err = c.SandboxStore().Get(k8s, "no-such-sandbox")
	r["sandboxGetMissing"] = class(err)
	_, err = c.GetImage(ctx, "docker.io/library/absent:1")
	r["imageGetMissing"] = class(err)

	// Without a registry (-registry empty) the registry steps are left out.
	if *regHost != "" {
		// Push the imported image to the registry, then pull it back under the registry's name.
		ociRegistry := func(ref string, h *helper) *registry.OCIRegistry {
			reg, err := registry.NewOCIRegistry(ctx, ref, registry.WithCredentials(h), registry.WithDefaultScheme("http"))
			if err != nil {
				fail("registry", err)
			}
			return reg
		}
		remote := *regHost + "/go2/pushed:1"
		pushHelper := &helper{user: *user, secret: *password}
		if err := c.Transfer(ctx, image.NewStore(img.Name()), ociRegistry(remote, pushHelper)); err != nil {
			fail("push", err)
		}
		r["pushAsked"] = pushHelper.asked
		r["pushedDigest"] = img.Target().Digest.String()
		pullHelper := &helper{user: *user, secret: *password}
		var (
			pullProgress []string
			progressMu   sync.Mutex
			completed    = make(chan struct{})
		)
		err = c.Transfer(ctx, ociRegistry(remote, pullHelper),
			image.NewStore(remote, image.WithPlatforms(platforms.DefaultSpec()), image.WithUnpack(platforms.DefaultSpec(), "overlayfs")),
			transfer.WithProgress(func(p transfer.Progress) {
				progressMu.Lock()
				defer progressMu.Unlock()
				if p.Name == "" || p.Event == "saved" {
					pullProgress = append(pullProgress, strings.TrimSpace(p.Event+" "+p.Name))
				}
				if strings.HasPrefix(p.Event, "Completed pull") {
					close(completed)
				}
			}))
		if err != nil {
			fail("pull", err)
		}
		// The progress stream is read by its own goroutine, which may still be behind when Transfer returns.
		select {
		case <-completed:
		case <-time.After(10 * time.Second):
		}
		progressMu.Lock()
		defer progressMu.Unlock()
		r["pullAsked"] = pullHelper.asked
		r["pullProgress"] = pullProgress
		pulled, err := c.GetImage(ctx, remote)
		if err != nil {
			fail("get pulled", err)
		}
		r["pulledSameTarget"] = pulled.Target().Digest == img.Target().Digest
		pulledUnpacked, err := pulled.IsUnpacked(ctx, "overlayfs")
		if err != nil {
			fail("pulled is unpacked", err)
		}
		r["pulledUnpacked"] = pulledUnpacked
		err = c.Transfer(ctx, ociRegistry(remote, &helper{user: *user, secret: "wrong"}), image.NewStore("refused"))
		r["badCredentialsClass"] = class(err)
		r["badCredentialsError"] = fmt.Sprint(err)
		err = c.Transfer(ctx, ociRegistry(*regHost+"/go2/missing:1", &helper{user: *user, secret: *password}), image.NewStore("missing"))
		r["missingRepoClass"] = class(err)
	}

	// The events of it all, by topic, in order.
	var topics []string
	timeout := time.After(5 * time.Second)
collect:
	for {
		select {
		case e := <-events:
			topics = append(topics, e.Topic)
			if e.Topic == "/images/create" && len(topics) > 1 && topics[len(topics)-2] == "/images/create" {
				break collect
			}
		case err := <-errs:
			fail("events", err)
		case <-timeout:
			break collect
		}
	}
	r["topics"] = topics
	_ = json.NewEncoder(os.Stdout).Encode(r)
}
