package container

import (
	"os"
	"testing"

	"github.com/moby/moby/api/types/mount"
)

func TestParseMountFlag(t *testing.T) {
	m, err := parseMountFlag("type=bind,src=/h,dst=/c,readonly,bind-propagation=rslave")
	if err != nil || m.Type != mount.TypeBind || m.Source != "/h" || m.Target != "/c" || !m.ReadOnly ||
		m.BindOptions == nil || m.BindOptions.Propagation != mount.PropagationRSlave {
		t.Errorf("bind: %+v %v", m, err)
	}
	m, err = parseMountFlag("source=data,target=/d,volume-nocopy,volume-opt=type=tmpfs,volume-opt=device=tmpfs,volume-label=a=b")
	if err != nil || m.Type != mount.TypeVolume || m.Source != "data" || m.VolumeOptions == nil || !m.VolumeOptions.NoCopy ||
		m.VolumeOptions.DriverConfig.Options["type"] != "tmpfs" || m.VolumeOptions.DriverConfig.Options["device"] != "tmpfs" ||
		m.VolumeOptions.Labels["a"] != "b" {
		t.Errorf("volume (the default type): %+v %v", m, err)
	}
	m, err = parseMountFlag("type=tmpfs,dst=/t,tmpfs-size=1m,tmpfs-mode=1770,ro=false")
	if err != nil || m.TmpfsOptions.SizeBytes != 1<<20 || m.TmpfsOptions.Mode != os.FileMode(0o1770) || m.ReadOnly {
		t.Errorf("tmpfs: %+v %v", m, err)
	}
	for _, bad := range []string{
		"type=bind,src=/h",                      // no target
		"type=npipe,dst=/x",                     // unknown type
		"type=bind,src=/h,dst=/c,volume-nocopy", // volume option on a bind
		"type=volume,dst=/c,tmpfs-size=1m",      // tmpfs option on a volume
		"dst=/c,bogus=1",                        // unknown key
		"type=tmpfs,dst=/t,tmpfs-size=huge",
		"type=tmpfs,dst=/t,tmpfs-mode=999",
		"dst=/c,readonly=maybe",
		"dst=/c,volume-opt=novalue",
	} {
		if _, err := parseMountFlag(bad); err == nil {
			t.Errorf("parseMountFlag(%q) succeeded", bad)
		}
	}
}
