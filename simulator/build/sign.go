package build

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"time"
)

// Key is a signing key and its self-signed certificate.
type Key struct {
	Private *rsa.PrivateKey
	Cert    *x509.Certificate
}

// NewKey makes an RSA 2048 key with a self-signed certificate, as Android's
// debug keystore holds (CN=Android Debug, valid 30 years).
func NewKey(commonName string) (*Key, error) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: commonName, Organization: []string{"Android"}, Country: []string{"US"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.AddDate(30, 0, 0),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		return nil, fmt.Errorf("signing certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("signing certificate: %w", err)
	}
	return &Key{Private: priv, Cert: cert}, nil
}

// PEM encodes the key (PKCS#8) and the certificate.
func (k *Key) PEM() ([]byte, error) {
	p8, err := x509.MarshalPKCS8PrivateKey(k.Private)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	_ = pem.Encode(&b, &pem.Block{Type: "PRIVATE KEY", Bytes: p8})
	_ = pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: k.Cert.Raw})
	return b.Bytes(), nil
}

// ParseKey reads what PEM wrote: an RSA private key and its certificate.
func ParseKey(data []byte) (*Key, error) {
	k := &Key{}
	for {
		var blk *pem.Block
		blk, data = pem.Decode(data)
		if blk == nil {
			break
		}
		switch blk.Type {
		case "PRIVATE KEY":
			p, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
			if err != nil {
				return nil, fmt.Errorf("private key: %w", err)
			}
			rk, ok := p.(*rsa.PrivateKey)
			if !ok {
				return nil, fmt.Errorf("private key: %T: allowed an RSA key", p)
			}
			k.Private = rk
		case "CERTIFICATE":
			c, err := x509.ParseCertificate(blk.Bytes)
			if err != nil {
				return nil, fmt.Errorf("certificate: %w", err)
			}
			k.Cert = c
		}
	}
	if k.Private == nil || k.Cert == nil {
		return nil, errors.New("want a PEM \"PRIVATE KEY\" (RSA, PKCS#8) and a \"CERTIFICATE\" block")
	}
	if !k.Private.PublicKey.Equal(k.Cert.PublicKey) {
		return nil, errors.New("the certificate is not the private key's")
	}
	return k, nil
}

// LoadOrCreateKey reads the key file at path, or makes one there (mode 0600)
// when it does not exist, as the Android tools do with the debug keystore.
func LoadOrCreateKey(path string) (*Key, error) {
	data, err := os.ReadFile(path)
	if err == nil {
		k, err := ParseKey(data)
		if err != nil {
			return nil, fmt.Errorf("key %s: %w", path, err)
		}
		return k, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("key: %w", err)
	}
	k, err := NewKey("Android Debug")
	if err != nil {
		return nil, err
	}
	out, err := k.PEM()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("key: %w", err)
	}
	if err := os.WriteFile(path, out, 0o600); err != nil {
		return nil, fmt.Errorf("key: %w", err)
	}
	return k, nil
}

// DefaultKeyPath is where the simulated builds' debug key lives by default:
// wmpf-hil/debug-key.pem under the user's configuration directory.
func DefaultKeyPath() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("default key path: %w (give a key file)", err)
	}
	return filepath.Join(dir, "wmpf-hil", "debug-key.pem"), nil
}

// APK Signature Scheme v2 (source.android.com/docs/security/features/
// apksigning/v2): an APK Signing Block inserted right before the ZIP central
// directory, holding a v2 block whose signer signs the digests of the
// file's contents, its central directory and its end of central directory.
const (
	sigBlockMagic  = "APK Sig Block 42"
	v2BlockID      = 0x7109871a
	algRSAPKCS1256 = 0x0103 // RSASSA-PKCS1-v1_5 with SHA2-256
	chunkSize      = 1 << 20
)

// SignV2 returns the ZIP file apk signed with the v2 scheme by k.
func SignV2(apk []byte, k *Key) ([]byte, error) {
	eocd, err := findEOCD(apk)
	if err != nil {
		return nil, err
	}
	cdOff := int(binary.LittleEndian.Uint32(apk[eocd+16:]))
	if cdOff > eocd {
		return nil, errors.New("sign: central directory offset past its end")
	}
	contents, cd, end := apk[:cdOff], apk[cdOff:eocd], apk[eocd:]
	// The EOCD is digested as if the central directory started where the
	// signing block will be: at the end of the contents, where it is now.
	digest := contentDigest(contents, cd, end)

	var digests bytes.Buffer
	digests.Write(lp(append(u32(algRSAPKCS1256), lp(digest)...)))
	var signedData bytes.Buffer
	signedData.Write(lp(digests.Bytes()))
	signedData.Write(lp(lp(k.Cert.Raw)))
	signedData.Write(lp(nil)) // no additional attributes
	h := sha256.Sum256(signedData.Bytes())
	sig, err := rsa.SignPKCS1v15(rand.Reader, k.Private, crypto.SHA256, h[:])
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&k.Private.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	var signer bytes.Buffer
	signer.Write(lp(signedData.Bytes()))
	signer.Write(lp(lp(append(u32(algRSAPKCS1256), lp(sig)...))))
	signer.Write(lp(pub))
	v2 := lp(lp(signer.Bytes()))

	var pairs bytes.Buffer
	_ = binary.Write(&pairs, binary.LittleEndian, uint64(4+len(v2)))
	pairs.Write(u32(v2BlockID))
	pairs.Write(v2)
	size := uint64(pairs.Len() + 8 + len(sigBlockMagic))
	var block bytes.Buffer
	_ = binary.Write(&block, binary.LittleEndian, size)
	block.Write(pairs.Bytes())
	_ = binary.Write(&block, binary.LittleEndian, size)
	block.WriteString(sigBlockMagic)

	out := make([]byte, 0, len(apk)+block.Len())
	out = append(out, contents...)
	out = append(out, block.Bytes()...)
	out = append(out, cd...)
	newEnd := append([]byte(nil), end...)
	binary.LittleEndian.PutUint32(newEnd[16:], uint32(cdOff+block.Len()))
	return append(out, newEnd...), nil
}

// contentDigest is the v2 top-level digest: SHA-256 over 0x5a, the chunk
// count and the digest of every 1 MiB chunk (0xa5, its length, its bytes)
// of the three sections in order.
func contentDigest(sections ...[]byte) []byte {
	var chunks [][]byte
	for _, s := range sections {
		for len(s) > 0 {
			n := min(len(s), chunkSize)
			h := sha256.New()
			h.Write([]byte{0xa5})
			h.Write(u32(uint32(n)))
			h.Write(s[:n])
			chunks = append(chunks, h.Sum(nil))
			s = s[n:]
		}
	}
	h := sha256.New()
	h.Write([]byte{0x5a})
	h.Write(u32(uint32(len(chunks))))
	for _, c := range chunks {
		h.Write(c)
	}
	return h.Sum(nil)
}

// findEOCD returns the offset of the ZIP end of central directory record.
func findEOCD(b []byte) (int, error) {
	for i := len(b) - 22; i >= 0 && i >= len(b)-22-0xffff; i-- {
		if binary.LittleEndian.Uint32(b[i:]) == 0x06054b50 && i+22+int(binary.LittleEndian.Uint16(b[i+20:])) == len(b) {
			return i, nil
		}
	}
	return 0, errors.New("sign: not a ZIP file: no end of central directory")
}

func u32(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }

// lp prefixes b with its length (uint32, little-endian).
func lp(b []byte) []byte { return append(u32(uint32(len(b))), b...) }
