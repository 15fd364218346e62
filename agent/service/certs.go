package service

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// Roles carried in client certificates (Subject OU) and tokens.
const (
	RoleWorkshop = "workshop" // a service centre: everything, including clearing trouble codes
	RoleOwner    = "owner"    // the vehicle's owner (the HMI): reads, and the voice assistant (its actions pass the dialogue's safety gate)
)

// File names in a TLS directory (the layout `evedge certs dev` writes and
// `evedge run --tls-dir` reads).
const (
	CAFile          = "ca.pem"
	CAKeyFile       = "ca-key.pem"
	ServerCertFile  = "server.pem"
	ServerKeyFile   = "server-key.pem"
	WorkshopCert    = "workshop.pem"
	WorkshopKeyFile = "workshop-key.pem"
	OwnerCert       = "owner.pem"
	OwnerKeyFile    = "owner-key.pem"
)

// DevCerts writes a throwaway CA, a server certificate for hosts (names or
// IP addresses; localhost and the loopback addresses are always added) and
// workshop and owner client certificates into dir, valid for validity.
// For trials and tests only: the keys are written unencrypted.
func DevCerts(dir string, hosts []string, validity time.Duration) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{Organization: []string{"evedge dev OEM"}, CommonName: "evedge dev CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(validity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return err
	}
	ca, _ := x509.ParseCertificate(caDER)
	if err := writePEM(filepath.Join(dir, CAFile), "CERTIFICATE", caDER, 0o644); err != nil {
		return err
	}
	if err := writeKey(filepath.Join(dir, CAKeyFile), caKey); err != nil {
		return err
	}
	issue := func(cert, key string, tmpl *x509.Certificate) error {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return err
		}
		tmpl.SerialNumber, tmpl.NotBefore, tmpl.NotAfter = serial(), now.Add(-time.Hour), now.Add(validity)
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &k.PublicKey, caKey)
		if err != nil {
			return err
		}
		if err := writePEM(filepath.Join(dir, cert), "CERTIFICATE", der, 0o644); err != nil {
			return err
		}
		return writeKey(filepath.Join(dir, key), k)
	}
	srv := &x509.Certificate{Subject: pkix.Name{Organization: []string{"evedge dev OEM"}, CommonName: "evedge head unit"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	for _, h := range append([]string{"localhost", "127.0.0.1", "::1"}, hosts...) {
		if ip := net.ParseIP(h); ip != nil {
			srv.IPAddresses = append(srv.IPAddresses, ip)
		} else if h != "" {
			srv.DNSNames = append(srv.DNSNames, h)
		}
	}
	if err := issue(ServerCertFile, ServerKeyFile, srv); err != nil {
		return err
	}
	for _, c := range []struct{ role, cert, key, cn string }{
		{RoleWorkshop, WorkshopCert, WorkshopKeyFile, "dev workshop"},
		{RoleOwner, OwnerCert, OwnerKeyFile, "dev owner"},
	} {
		if err := issue(c.cert, c.key, &x509.Certificate{
			Subject:     pkix.Name{Organization: []string{"evedge dev OEM"}, OrganizationalUnit: []string{c.role}, CommonName: c.cn},
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
			return err
		}
	}
	return nil
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 126))
	if err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return n
}

func writePEM(path, typ string, der []byte, mode os.FileMode) error {
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), mode)
}

func writeKey(path string, k *ecdsa.PrivateKey) error {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return err
	}
	return writePEM(path, "PRIVATE KEY", der, 0o600)
}

// RoleOf returns the role a verified client certificate carries in its
// Subject OU ("workshop" or "owner").
func RoleOf(c *x509.Certificate) (string, error) {
	for _, ou := range c.Subject.OrganizationalUnit {
		switch ou {
		case RoleWorkshop, RoleOwner:
			return ou, nil
		}
	}
	return "", fmt.Errorf("certificate %q carries no role (Subject OU workshop or owner)", c.Subject.CommonName)
}

// LoadCAPool reads a PEM file of CA certificates.
func LoadCAPool(path string) (*x509.CertPool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	p := x509.NewCertPool()
	if !p.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("%s: no PEM certificate", path)
	}
	return p, nil
}

var errNoTLSDir = errors.New("service: no TLS directory")
