package testimage

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
)

const filesPerDir = 256

// randomLayer returns layer index of a benchmark image: size bytes of file
// content under /data/layerNNN/dNNN/fNNNNN, in files of 128 B to 192 KiB.
// Half of the files are text over a 16-letter alphabet (gzip halves them),
// half are random bytes (incompressible). ChaCha8 is specified exactly, so
// the same index, size and seed always give the same layer.
func randomLayer(index int, size int64, seed uint64) ([]byte, error) {
	var key [32]byte
	binary.LittleEndian.PutUint64(key[0:], seed)
	binary.LittleEndian.PutUint64(key[8:], uint64(index))
	src := rand.NewChaCha8(key)
	rng := rand.New(src)

	var files []File
	for n, left := 0, size; left > 0; n++ {
		chunk := 256 << rng.IntN(10)
		fileSize := min(left, int64(chunk/2+rng.IntN(chunk)))
		data := make([]byte, fileSize)
		_, _ = src.Read(data) // never fails
		if rng.IntN(2) == 0 {
			for i, b := range data {
				data[i] = "abcdefghijklmnop"[b&0xf]
			}
		}
		name := fmt.Sprintf("/data/layer%03d/d%03d/f%05d", index, n/filesPerDir, n)
		files = append(files, RegularFile(name, 0o644, data))
		left -= fileSize
	}
	return LayerTar(files...)
}
