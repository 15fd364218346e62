package brokertest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
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

// authority is a throwaway certificate authority (ECDSA P-256).
type authority struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	file string // PEM certificate
}

func newAuthority(dir, name string) (*authority, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: name, Organization: []string{"evedge brokertest"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(48 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	a := &authority{cert: cert, key: key, file: filepath.Join(dir, name+".crt")}
	return a, writePEM(a.file, "CERTIFICATE", der, 0o644)
}

// issue writes base.crt and base.key in dir: a server certificate for
// 127.0.0.1, ::1 and localhost, or a client certificate, with common name cn.
func (a *authority) issue(dir, base, cn string, server bool) (certFile, keyFile string, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: cn, Organization: []string{"evedge brokertest"}},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.DNSNames = []string{"localhost"}
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.cert, &key.PublicKey, a.key)
	if err != nil {
		return "", "", err
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", "", err
	}
	certFile, keyFile = filepath.Join(dir, base+".crt"), filepath.Join(dir, base+".key")
	if err := writePEM(certFile, "CERTIFICATE", der, 0o644); err != nil {
		return "", "", err
	}
	return certFile, keyFile, writePEM(keyFile, "PRIVATE KEY", pkcs8, 0o600)
}

func (b *Broker) makeCerts() error {
	var err error
	if b.ca, err = newAuthority(b.Dir, "ca"); err != nil {
		return err
	}
	if b.otherCA, err = newAuthority(b.Dir, "other-ca"); err != nil {
		return err
	}
	b.CAFile, b.OtherCAFile = b.ca.file, b.otherCA.file
	if _, _, err = b.ca.issue(b.Dir, "server", "localhost", true); err != nil {
		return err
	}
	b.ClientCert, b.ClientKey, err = b.ca.issue(b.Dir, "client", "evedge-test-client", false)
	return err
}

// NewClientCert issues another client certificate with common name cn,
// signed by the broker's CA (with WithIdentityAsUsername, cn is the MQTT
// username).
func (b *Broker) NewClientCert(cn string) (certFile, keyFile string) {
	b.t.Helper()
	return b.newCert(b.ca, cn)
}

// NewOtherClientCert issues a client certificate with common name cn,
// signed by the other CA, which the broker does not trust.
func (b *Broker) NewOtherClientCert(cn string) (certFile, keyFile string) {
	b.t.Helper()
	return b.newCert(b.otherCA, cn)
}

func (b *Broker) newCert(a *authority, cn string) (string, string) {
	b.t.Helper()
	if a == nil {
		b.t.Fatal("brokertest: client certificates need WithTLS")
	}
	b.mu.Lock()
	b.certSeq++
	name := fmt.Sprintf("client%d", b.certSeq)
	b.mu.Unlock()
	dir := filepath.Join(b.Dir, name)
	if err := os.Mkdir(dir, 0o700); err != nil {
		b.t.Fatal(err)
	}
	certFile, keyFile, err := a.issue(dir, "client", cn, false)
	if err != nil {
		b.t.Fatal(err)
	}
	return certFile, keyFile
}

// ClientTLS returns a TLS configuration that trusts the broker's CA and
// presents the default client certificate.
func (b *Broker) ClientTLS() *tls.Config {
	b.t.Helper()
	cfg, err := TLSConfig(b.CAFile, b.ClientCert, b.ClientKey)
	if err != nil {
		b.t.Fatal(err)
	}
	return cfg
}

// TLSConfig builds a client TLS configuration from PEM files: the CA to
// trust (system roots when empty) and an optional client certificate.
func TLSConfig(caFile, certFile, keyFile string) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s: no PEM certificate", caFile)
		}
		cfg.RootCAs = pool
	}
	if (certFile == "") != (keyFile == "") {
		return nil, errors.New("client certificate and key go together")
	}
	if certFile != "" {
		c, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, err
		}
		cfg.Certificates = []tls.Certificate{c}
	}
	return cfg, nil
}

func writePEM(file, typ string, der []byte, mode os.FileMode) error {
	return os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), mode)
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		panic(err)
	}
	return n
}
