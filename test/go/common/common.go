// Package common holds what every Go test program shares: the flags, the connection, the error
// classes as errdefs names them, and the JSON report on stdout.
package common

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/containerd/containerd"
	"github.com/containerd/containerd/errdefs"
	"github.com/containerd/containerd/namespaces"
)

// Flags every program takes.
var (
	Socket    = flag.String("socket", "", "the fake's socket path")
	Namespace = flag.String("namespace", "build", "the client's default namespace")
	Archive   = flag.String("archive", "", "an OCI image archive to import")
	FIFODir   = flag.String("fifo-dir", os.TempDir(), "where cio makes the stdio FIFOs")
)

// Report is what the program saw, printed as one JSON object at the end.
type Report map[string]interface{}

// Connect parses the flags and connects as containerd.New does for any caller. The client's default
// namespace serves its own calls; oci.WithNewSpec reads the namespace from the context, so callers
// put it there too (Context).
func Connect() (*containerd.Client, Report) {
	flag.Parse()
	if *Socket == "" {
		fmt.Fprintln(os.Stderr, "usage: PROGRAM --socket PATH [--namespace NS] [--archive FILE] [--fifo-dir DIR]")
		os.Exit(2)
	}
	client, err := containerd.New(*Socket, containerd.WithDefaultNamespace(*Namespace))
	if err != nil {
		fmt.Fprintln(os.Stderr, "connect:", err)
		os.Exit(1)
	}
	return client, Report{}
}

// Context is a context with the default namespace and a deadline, as callers make them.
func Context() (context.Context, context.CancelFunc) {
	return context.WithTimeout(namespaces.WithNamespace(context.Background(), *Namespace), 60*time.Second)
}

// Must stops the program with the step's name when a call that has to work fails; the report so far
// is printed, so the test shows what came before.
func (r Report) Must(step string, err error) {
	if err != nil {
		r["failed"] = map[string]string{"step": step, "error": err.Error(), "class": Class(err)}
		r.Print()
		os.Exit(1)
	}
}

// Print writes the report to stdout.
func (r Report) Print() {
	out, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
	fmt.Println(string(out))
}

// Class names the errdefs class of an error, as callers test it ("ok" when there is none).
func Class(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errdefs.IsNotFound(err):
		return "NotFound"
	case errdefs.IsAlreadyExists(err):
		return "AlreadyExists"
	case errdefs.IsFailedPrecondition(err):
		return "FailedPrecondition"
	case errdefs.IsInvalidArgument(err):
		return "InvalidArgument"
	case errdefs.IsNotImplemented(err):
		return "NotImplemented"
	case errdefs.IsUnavailable(err):
		return "Unavailable"
	default:
		return "Unknown"
	}
}

// Outcome is an error's class and text, for calls that are meant to fail.
func Outcome(err error) map[string]string {
	if err == nil {
		return map[string]string{"class": "ok"}
	}
	return map[string]string{"class": Class(err), "error": err.Error()}
}

// ImportImage imports the --archive OCI archive as client.Import does and unpacks its first image
// into overlayfs.
func ImportImage(ctx context.Context, client *containerd.Client, r Report) containerd.Image {
	f, err := os.Open(*Archive)
	r.Must("open archive", err)
	defer f.Close()
	imgs, err := client.Import(ctx, f)
	r.Must("Import", err)
	image := containerd.NewImage(client, imgs[0])
	r.Must("Unpack", image.Unpack(ctx, "overlayfs"))
	return image
}

// Buffer is a bytes.Buffer that cio's copy goroutines may write while the program reads it.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) { b.mu.Lock(); defer b.mu.Unlock(); return b.b.Write(p) }
func (b *Buffer) String() string              { b.mu.Lock(); defer b.mu.Unlock(); return b.b.String() }
