package mounts

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/mount"

	"github.com/pouchcontainer/pouch/integration/internal/testenv"
)

// TestBadSpecs: a malformed -v, --mount, --tmpfs or --volumes-from is a
// 400 naming the problem, and creates nothing: no container, no volume
// (not even one a valid spec before it names), no host path.
func TestBadSpecs(t *testing.T) {
	t.Parallel()
	vols := trackVolumes(t, d)
	vols.add("vol") // the name the bad specs give; only a bug creates it
	holder := testenv.UniqueName(t)
	d.RemoveContainerOnCleanup(t, holder)
	d.PouchOK(t, "create", "--name", holder, "-v", vols.name(t)+":/data", "busybox", "true")

	for _, tc := range []struct {
		name        string
		binds       []string
		mounts      []mount.Mount
		tmpfs       map[string]string
		volumesFrom []string
		msg         string // part of the message
	}{
		{name: "too many colons", binds: []string{"vol:/data:ro:extra"}, msg: "too many colons"},
		{name: "too many colons, bind", binds: []string{"/a:/b:ro:rw"}, msg: "invalid volume specification: '/a:/b:ro:rw'"},
		{name: "relative container path", binds: []string{"vol:data"}, msg: "the container path must be absolute"},
		{name: "relative container path, bind", binds: []string{"/tmp:data"}, msg: "invalid volume specification: '/tmp:data'"},
		{name: "relative container path, anonymous", binds: []string{"data"}, msg: "the container path must be absolute"},
		{name: "destination /", binds: []string{"vol:/"}, msg: "the destination cannot be /"},
		{name: "empty destination", binds: []string{"vol:"}, msg: "invalid volume specification"},
		{name: "empty source", binds: []string{":/data"}, msg: "invalid volume specification"},
		{name: "unknown option", binds: []string{"vol:/data:bogus"}, msg: `unknown option "bogus"`},
		{name: "unknown option, bind", binds: []string{"/tmp:/data:ro,bogus"}, msg: `unknown option "bogus"`},
		{name: "conflicting modes", binds: []string{"vol:/data:ro,rw"}, msg: "invalid volume specification: 'vol:/data:ro,rw'"},
		{name: "propagation on a volume", binds: []string{"vol:/data:rshared"}, msg: "invalid volume specification: 'vol:/data:rshared'"},
		{name: "nocopy on a bind", binds: []string{"/tmp:/data:nocopy"}, msg: "invalid volume specification: '/tmp:/data:nocopy'"},
		{name: "bad volume name", binds: []string{"-bad:/data"}, msg: `invalid volume name "-bad"`},
		{name: "bad volume name, characters", binds: []string{"bad!name:/data"}, msg: "invalid volume name"},
		{name: "bad volume name, one character", binds: []string{"a:/data"}, msg: "invalid volume name"},
		{name: "relative host path", binds: []string{"./rel:/data"}, msg: "invalid volume name"},
		{name: "parent host path", binds: []string{"../up:/data"}, msg: "invalid volume name"},
		{name: "duplicate destination", binds: []string{"vol1:/dup", "vol2:/dup"}, msg: "Duplicate mount point: /dup"},
		{name: "duplicate destination, cleaned", binds: []string{"vol1:/dup", "/tmp:/dup/"}, msg: "Duplicate mount point: /dup"},
		{name: "duplicate destination, -v and --mount", binds: []string{"vol1:/dup"}, mounts: []mount.Mount{{Type: mount.TypeVolume, Source: "vol2", Target: "/dup"}}, msg: "Duplicate mount point: /dup"},
		{name: "duplicate destination, -v and --tmpfs", binds: []string{"vol1:/dup"}, tmpfs: map[string]string{"/dup": ""}, msg: "Duplicate mount point: /dup"},
		{name: "duplicate destination, --mount twice", mounts: []mount.Mount{{Type: mount.TypeTmpfs, Target: "/dup"}, {Type: mount.TypeVolume, Target: "/dup"}}, msg: "Duplicate mount point: /dup"},
		{name: "--mount unknown type", mounts: []mount.Mount{{Type: "nfs", Target: "/data"}}, msg: `mount type "nfs" is not supported`},
		{name: "--mount no target", mounts: []mount.Mount{{Type: mount.TypeVolume, Source: "vol"}}, msg: "Target must not be empty"},
		{name: "--mount relative target", mounts: []mount.Mount{{Type: mount.TypeVolume, Source: "vol", Target: "data"}}, msg: "mount path must be absolute"},
		{name: "--mount bad volume name", mounts: []mount.Mount{{Type: mount.TypeVolume, Source: "../escape", Target: "/data"}}, msg: `invalid volume name "../escape"`},
		{name: "--mount bind without source", mounts: []mount.Mount{{Type: mount.TypeBind, Target: "/data"}}, msg: "Source must not be empty"},
		{name: "--mount bind relative source", mounts: []mount.Mount{{Type: mount.TypeBind, Source: "rel", Target: "/data"}}, msg: "mount path must be absolute"},
		{name: "--mount bind bad propagation", mounts: []mount.Mount{{Type: mount.TypeBind, Source: "/tmp", Target: "/data", BindOptions: &mount.BindOptions{Propagation: "sideways"}}}, msg: "invalid propagation mode: sideways"},
		{name: "--mount bind with volume options", mounts: []mount.Mount{{Type: mount.TypeBind, Source: "/tmp", Target: "/data", VolumeOptions: &mount.VolumeOptions{NoCopy: true}}}, msg: "only BindOptions are allowed"},
		{name: "--mount volume with bind options", mounts: []mount.Mount{{Type: mount.TypeVolume, Source: "vol", Target: "/data", BindOptions: &mount.BindOptions{}}}, msg: "only VolumeOptions are allowed"},
		{name: "--mount volume driver", mounts: []mount.Mount{{Type: mount.TypeVolume, Source: "vol", Target: "/data", VolumeOptions: &mount.VolumeOptions{DriverConfig: &mount.Driver{Name: "nfsplugin"}}}}, msg: `volume driver "nfsplugin" is not supported`},
		{name: "--mount tmpfs with source", mounts: []mount.Mount{{Type: mount.TypeTmpfs, Source: "tmpfs", Target: "/data"}}, msg: "Source must not be specified"},
		{name: "--mount tmpfs negative size", mounts: []mount.Mount{{Type: mount.TypeTmpfs, Target: "/data", TmpfsOptions: &mount.TmpfsOptions{SizeBytes: -1}}}, msg: "invalid tmpfs size"},
		{name: "--volumes-from missing container", volumesFrom: []string{"no-such-container-here"}, msg: "no such container: no-such-container-here"},
		{name: "--volumes-from bad mode", volumesFrom: []string{holder + ":rx"}, msg: "invalid mode for --volumes-from"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// Valid specs the daemon could act on before it reads the bad
			// one: a new named volume and a missing host path.
			parent := t.TempDir()
			vol := testenv.UniqueName(t)
			newHost := filepath.Join(parent, "made")
			binds := append([]string{vol + ":/valid1", newHost + ":/valid2"}, tc.binds...)
			mounts := append([]mount.Mount{{Type: mount.TypeVolume, Source: vol + "m", Target: "/valid3"}}, tc.mounts...)
			for i, b := range binds {
				binds[i] = strings.ReplaceAll(strings.ReplaceAll(b, "vol1:", vol+"1:"), "vol2:", vol+"2:")
			}
			for i := range mounts {
				if mounts[i].Source == "vol2" {
					mounts[i].Source = vol + "2"
				}
			}
			name := testenv.UniqueName(t)
			d.RemoveContainerOnCleanup(t, name)
			vols.add(vol, vol+"m", vol+"1", vol+"2")
			hc := map[string]any{"Binds": binds, "Mounts": mounts, "VolumesFrom": tc.volumesFrom}
			if tc.tmpfs != nil {
				hc["Tmpfs"] = tc.tmpfs
			}
			r := d.ExpectStatus(t, http.StatusBadRequest, "POST", "/containers/create?name="+name, map[string]any{
				"Image": "busybox", "Cmd": []string{"true"}, "HostConfig": hc,
			})
			if !strings.Contains(r.Message(), tc.msg) {
				t.Errorf("message %q, want it to hold %q", r.Message(), tc.msg)
			}
			if containerExists(t, d, name) {
				t.Errorf("container %s created", name)
			}
			for _, v := range []string{vol, vol + "m", vol + "1", vol + "2"} {
				if volumeExists(t, d, v) {
					t.Errorf("volume %s created", v)
				}
				if exists(filepath.Join(volumesRoot(d), v)) {
					t.Errorf("volume directory %s created", v)
				}
			}
			if got := dirNames(t, parent); len(got) != 0 {
				t.Errorf("host path created: %v", got)
			}
		})
	}
}

// TestBadSpecsCLI: pouch run reports a bad -v, --mount or --tmpfs and
// creates nothing.
func TestBadSpecsCLI(t *testing.T) {
	t.Parallel()
	parent := t.TempDir()
	newHost := filepath.Join(parent, "made")
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"-v", "vol:/data:ro:extra"}, "too many colons"},
		{[]string{"-v", "vol:data"}, "the container path must be absolute"},
		{[]string{"-v", "vol:/data:bogus"}, `unknown option "bogus"`},
		{[]string{"-v", "vol:/dup", "-v", "vol2:/dup"}, "Duplicate mount point: /dup"},
		{[]string{"-v", "-x:/data"}, "invalid volume name"},
		{[]string{"-v", ""}, "invalid empty volume spec"},
		{[]string{"--mount", "type=volume,dst=/data,bogus=1"}, "unexpected key 'bogus'"},
		{[]string{"--mount", "type=nfs,dst=/data"}, "invalid mount type"},
		{[]string{"--mount", "type=volume,src=vol"}, "target is required"},
		{[]string{"--mount", "type=bind,src=/tmp,dst=/data,volume-nocopy"}, "cannot mix 'volume-*' options with mount type 'bind'"},
		{[]string{"--mount", "type=tmpfs,dst=/data,tmpfs-size=lots"}, "invalid value for tmpfs-size"},
		{[]string{"--mount", "type=tmpfs,dst=/data,tmpfs-mode=999"}, "invalid value for tmpfs-mode"},
		{[]string{"--mount", "type=volume,src=vol,dst=/data,readonly=maybe"}, "invalid value for readonly"},
		{[]string{"--tmpfs", "rel"}, "path must be absolute"},
		{[]string{"--volumes-from", "no-such-container-here"}, "no such container"},
	} {
		name := testenv.UniqueName(t)
		d.RemoveContainerOnCleanup(t, name)
		args := append(append([]string{"run", "--name", name, "-v", "vol-made-by-bad-cli:/valid", "-v", newHost + ":/valid2"}, tc.args...), "busybox", "true")
		res := d.PouchFails(t, args...)
		if !strings.Contains(res.Stderr, tc.msg) {
			t.Errorf("pouch %s: stderr %q, want it to hold %q", strings.Join(tc.args, " "), res.Stderr, tc.msg)
		}
		if containerExists(t, d, name) {
			t.Errorf("pouch %s: container created", strings.Join(tc.args, " "))
		}
	}
	for _, v := range []string{"vol", "vol2", "vol-made-by-bad-cli"} {
		if volumeExists(t, d, v) {
			t.Errorf("volume %s created", v)
			removeVolume(t, d, v)
		}
	}
	if got := dirNames(t, parent); len(got) != 0 {
		t.Errorf("host path created: %v", got)
	}
}
