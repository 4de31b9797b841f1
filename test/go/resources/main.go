// resources: the stores callers read and label. Namespaces with labels; an import under a lease
// and what the lease holds; leases made, listed with filters, given and stripped of resources;
// content Info, Walk with filters, Update and ReaderAt; images listed, got, labelled, deleted;
// containers with labels and an extension.
package main

import (
	"os"
	"sort"
	"time"

	"../common"
	"github.com/containerd/containerd"
	"github.com/containerd/containerd/content"
	"github.com/containerd/containerd/images"
	"github.com/containerd/containerd/leases"
	"github.com/containerd/containerd/namespaces"
	"github.com/containerd/typeurl"
)

// Note is a container extension, as callers keep their own metadata on a container.
type Note struct {
	Owner string `json:"owner"`
}

func init() {
	typeurl.Register(&Note{}, "fake-containerd.test", "Note")
}

func main() {
	client, r := common.Connect()
	defer client.Close()
	ctx, cancel := common.Context()
	defer cancel()

	// Namespaces.
	ns := client.NamespaceService()
	r.Must("Namespace Create", ns.Create(ctx, "labelled", map[string]string{"team": "a", "tier": "gold"}))
	r.Must("Namespace SetLabel", ns.SetLabel(ctx, "labelled", "team", "b"))
	r.Must("Namespace SetLabel remove", ns.SetLabel(ctx, "labelled", "tier", ""))
	labels, err := ns.Labels(ctx, "labelled")
	r.Must("Namespace Labels", err)
	r["namespaceLabels"] = labels
	list, err := ns.List(ctx)
	r.Must("Namespace List", err)
	r["namespacesBefore"] = list
	r.Must("Namespace Delete", ns.Delete(ctx, "labelled"))
	list, err = ns.List(ctx)
	r.Must("Namespace List", err)
	r["namespacesAfter"] = list

	// An import under a lease: the lease holds what was written.
	lm := client.LeasesService()
	lctx, done, err := client.WithLease(ctx, leases.WithLabels(map[string]string{"purpose": "import"}))
	r.Must("WithLease", err)
	f, err := os.Open(*common.Archive)
	r.Must("open archive", err)
	imgs, err := client.Import(lctx, f)
	f.Close()
	r.Must("Import", err)
	image := containerd.NewImage(client, imgs[0])
	r.Must("Unpack", image.Unpack(lctx, "overlayfs"))
	all, err := lm.List(ctx)
	r.Must("Leases List", err)
	var importLease leases.Lease
	for _, l := range all {
		if l.Labels["purpose"] == "import" {
			importLease = l
		}
	}
	r["importLeaseFound"] = importLease.ID != ""
	r["importLeaseExpires"] = importLease.Labels["containerd.io/gc.expire"] != ""
	held, err := lm.ListResources(ctx, importLease)
	r.Must("Leases ListResources", err)
	kinds := map[string]int{}
	for _, res := range held {
		kinds[res.Type]++
	}
	r["importLeaseResources"] = kinds
	r.Must("lease done", done(ctx))

	l, err := lm.Create(ctx, leases.WithID("held"), leases.WithLabels(map[string]string{"keep": "yes"}), leases.WithExpiration(time.Hour))
	r.Must("Leases Create", err)
	r["leaseCreatedAtSet"] = !l.CreatedAt.IsZero()
	byID, err := lm.List(ctx, `id=="held"`)
	r.Must("Leases List id", err)
	byLabel, err := lm.List(ctx, `labels.keep==yes`)
	r.Must("Leases List label", err)
	none, err := lm.List(ctx, `labels.keep==no`)
	r.Must("Leases List label", err)
	r["leaseFilters"] = []int{len(byID), len(byLabel), len(none)}
	target := image.Target()
	r.Must("AddResource", lm.AddResource(ctx, l, leases.Resource{ID: target.Digest.String(), Type: "content"}))
	r.Must("AddResource snapshot", lm.AddResource(ctx, l, leases.Resource{ID: "some-key", Type: "snapshots/overlayfs"}))
	res, err := lm.ListResources(ctx, l)
	r.Must("ListResources", err)
	var resources []string
	for _, x := range res {
		resources = append(resources, x.Type+" "+x.ID)
	}
	sort.Strings(resources)
	r["leaseResources"] = resources
	r.Must("DeleteResource", lm.DeleteResource(ctx, l, leases.Resource{ID: "some-key", Type: "snapshots/overlayfs"}))
	res, err = lm.ListResources(ctx, l)
	r.Must("ListResources", err)
	r["leaseResourcesAfterDelete"] = len(res)
	r.Must("Leases Delete", lm.Delete(ctx, l, leases.SynchronousDelete))
	all, err = lm.List(ctx)
	r.Must("Leases List", err)
	r["leasesAtEnd"] = len(all)

	// Content.
	cs := client.ContentStore()
	info, err := cs.Info(ctx, target.Digest)
	r.Must("Content Info", err)
	r["manifestSizeMatches"] = info.Size == target.Size
	var refLabels []string
	for k := range info.Labels {
		refLabels = append(refLabels, k)
	}
	sort.Strings(refLabels)
	r["manifestLabels"] = refLabels
	var walked, withConfigRef, byDigest int
	r.Must("Walk", cs.Walk(ctx, func(content.Info) error { walked++; return nil }))
	r.Must("Walk label", cs.Walk(ctx, func(content.Info) error { withConfigRef++; return nil }, `labels."containerd.io/gc.ref.content.config"`))
	r.Must("Walk digest", cs.Walk(ctx, func(content.Info) error { byDigest++; return nil }, `digest=="`+target.Digest.String()+`"`))
	r["walk"] = map[string]int{"all": walked, "withConfigRef": withConfigRef, "byDigest": byDigest}
	info.Labels = map[string]string{"checked": "yes"}
	updated, err := cs.Update(ctx, info, "labels.checked")
	r.Must("Content Update", err)
	r["contentUpdatedLabel"] = updated.Labels["checked"]
	r["contentKeptRefLabel"] = updated.Labels["containerd.io/gc.ref.content.config"] != ""
	ra, err := cs.ReaderAt(ctx, target)
	r.Must("ReaderAt", err)
	buf := make([]byte, 16)
	n, err := ra.ReadAt(buf, 1)
	r.Must("ReadAt", err)
	r["readAt"] = string(buf[:n])
	r["readerSize"] = ra.Size() == target.Size
	ra.Close()
	manifest, err := content.ReadBlob(ctx, cs, target)
	r.Must("ReadBlob", err)
	r["manifestBytes"] = len(manifest) == int(target.Size)

	// Images.
	listed, err := client.ListImages(ctx)
	r.Must("ListImages", err)
	var names []string
	for _, i := range listed {
		names = append(names, i.Name())
	}
	r["images"] = names
	filtered, err := client.ListImages(ctx, `name~="goclient"`)
	r.Must("ListImages filter", err)
	nomatch, err := client.ListImages(ctx, `name=="nothing"`)
	r.Must("ListImages filter", err)
	r["imageFilters"] = []int{len(filtered), len(nomatch)}
	got, err := client.GetImage(ctx, image.Name())
	r.Must("GetImage", err)
	r["imageTargetMatches"] = got.Target().Digest == target.Digest
	cfg, err := got.Config(ctx)
	r.Must("image Config", err)
	r["imageConfigMediaType"] = cfg.MediaType
	platforms, err := images.Platforms(ctx, cs, got.Target())
	r.Must("Platforms", err)
	r["imagePlatforms"] = len(platforms)
	stored := got.Metadata()
	stored.Labels = map[string]string{"checked": "yes"}
	upd, err := client.ImageService().Update(ctx, stored, "labels.checked")
	r.Must("Image Update", err)
	r["imageLabel"] = upd.Labels["checked"]
	r["imageUpdatedLater"] = upd.UpdatedAt.After(upd.CreatedAt) || upd.UpdatedAt.Equal(upd.CreatedAt)
	copied := stored
	copied.Name = "docker.io/library/goclient:copy"
	_, err = client.ImageService().Create(ctx, copied)
	r.Must("Image Create", err)
	r.Must("Image Delete", client.ImageService().Delete(ctx, copied.Name, images.SynchronousDelete()))
	_, err = client.GetImage(ctx, copied.Name)
	r["deletedImage"] = common.Outcome(err)

	// Containers: labels, an extension, info.
	c, err := client.NewContainer(ctx, "labelled",
		containerd.WithImageName(image.Name()),
		containerd.WithContainerLabels(map[string]string{"team": "a"}),
		containerd.WithContainerExtension("note", &Note{Owner: "ops"}),
		containerd.WithRuntime("io.containerd.runc.v2", nil),
		containerd.WithNewSpec(),
	)
	r.Must("NewContainer", err)
	cl, err := c.Labels(ctx)
	r.Must("Labels", err)
	r["containerLabels"] = cl
	cl, err = c.SetLabels(ctx, map[string]string{"team": "b", "tier": "gold"})
	r.Must("SetLabels", err)
	r["containerLabelsAfterSet"] = cl
	ci, err := c.Info(ctx)
	r.Must("Info", err)
	r["containerInfo"] = map[string]interface{}{
		"image":        ci.Image,
		"runtime":      ci.Runtime.Name,
		"createdAtSet": !ci.CreatedAt.IsZero(),
		"updatedLater": !ci.UpdatedAt.Before(ci.CreatedAt),
		"specType":     ci.Spec.TypeUrl,
	}
	exts, err := c.Extensions(ctx)
	r.Must("Extensions", err)
	ext := exts["note"]
	v, err := typeurl.UnmarshalAny(&ext)
	r.Must("UnmarshalAny extension", err)
	r["extension"] = map[string]string{"type": ext.TypeUrl, "owner": v.(*Note).Owner}
	byLabels, err := client.Containers(ctx, "labels.tier==gold")
	r.Must("Containers filter", err)
	r["containersWithLabel"] = len(byLabels)
	spec, err := c.Spec(ctx)
	r.Must("Spec", err)
	r["specHasProcess"] = spec.Process != nil
	r.Must("Container Delete", c.Delete(ctx))

	// The default namespace is only listed once it holds something.
	other, err := ns.Labels(namespaces.WithNamespace(ctx, "build"), "build")
	r.Must("Labels of the default", err)
	r["defaultNamespaceLabels"] = other
	r.Print()
}
