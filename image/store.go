// Package image opens Pouch's image store: containerd's content store,
// overlay snapshotter and bbolt metadata, used in-process as libraries.
// Only the metadata layer joins content, snapshots, leases and GC; the
// raw stores stay dumb.
package image

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/core/diff"
	"github.com/containerd/containerd/v2/core/diff/apply"
	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/containerd/v2/core/leases"
	"github.com/containerd/containerd/v2/core/metadata"
	"github.com/containerd/containerd/v2/core/snapshots"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/containerd/v2/plugins/content/local"
	"github.com/containerd/containerd/v2/plugins/snapshots/overlay"
	bolt "go.etcd.io/bbolt"
)

// Namespace is the containerd metadata namespace all of Pouch's objects live in.
const Namespace = "pouch"

// SnapshotterName is the snapshotter every image is unpacked into.
const SnapshotterName = "overlayfs"

// Store is the opened image store.
type Store struct {
	DB          *metadata.DB
	Content     content.Store
	Snapshotter snapshots.Snapshotter
	Images      images.Store
	Leases      leases.Manager
	Applier     diff.Applier
	bolt        *bolt.DB
}

// Open opens (creating if needed) the store under root.
func Open(ctx context.Context, root string) (*Store, error) {
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, err
	}
	cs, err := local.NewStore(filepath.Join(root, "content"))
	if err != nil {
		return nil, fmt.Errorf("open content store: %w", err)
	}
	sn, err := overlay.NewSnapshotter(filepath.Join(root, "snapshots", SnapshotterName), overlay.AsynchronousRemove)
	if err != nil {
		return nil, fmt.Errorf("open overlay snapshotter: %w", err)
	}
	bdb, err := bolt.Open(filepath.Join(root, "metadata.db"), 0o600, &bolt.Options{Timeout: time.Second, NoFreelistSync: true})
	if err != nil {
		sn.Close()
		return nil, fmt.Errorf("open metadata: %w", err)
	}
	db := metadata.NewDB(bdb, cs, map[string]snapshots.Snapshotter{SnapshotterName: sn})
	if err := db.Init(ctx); err != nil {
		bdb.Close()
		sn.Close()
		return nil, fmt.Errorf("init metadata: %w", err)
	}
	return &Store{
		DB:          db,
		Content:     db.ContentStore(),
		Snapshotter: db.Snapshotter(SnapshotterName),
		Images:      metadata.NewImageStore(db),
		Leases:      metadata.NewLeaseManager(db),
		Applier:     apply.NewFileSystemApplier(db.ContentStore()),
		bolt:        bdb,
	}, nil
}

// Close closes the store.
func (s *Store) Close() error {
	return s.DB.Close()
}

// WithNamespace returns ctx carrying Pouch's metadata namespace.
func WithNamespace(ctx context.Context) context.Context {
	return namespaces.WithNamespace(ctx, Namespace)
}

// WithLease runs fn under a fresh lease, so that content written by fn is
// safe from a concurrent garbage collection until fn has recorded what it
// wrote (pitfall: writes without a lease lose half-written content to GC).
func (s *Store) WithLease(ctx context.Context, fn func(ctx context.Context) error) error {
	l, err := s.Leases.Create(ctx, leases.WithRandomID(), leases.WithExpiration(24*time.Hour))
	if err != nil {
		return err
	}
	defer s.Leases.Delete(context.WithoutCancel(ctx), l) //nolint:errcheck
	return fn(leases.WithLease(ctx, l.ID))
}
