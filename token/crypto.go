package token

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"runtime"
	"sync"

	"github.com/streamtoken/streamtoken/internal/ossl"
)

// Crypto names an implementation of RSA that signers sign with and
// GenerateKey makes keys with.
type Crypto string

const (
	// CryptoOpenSSL is OpenSSL's libcrypto 3, loaded at run time
	// (libcrypto.so.3; a build with cgo): about four times the signatures
	// per core of Go's.
	CryptoOpenSSL Crypto = "openssl"
	// CryptoGo is Go's crypto/rsa: no cgo, no library to load.
	CryptoGo Crypto = "go"
	// CryptoAuto is a choice, not an implementation: OpenSSL's when
	// libcrypto loads, else Go's.
	CryptoAuto Crypto = "auto"
)

// cryptoChoice is the implementation chosen for the process.
var cryptoChoice struct {
	sync.Mutex
	chosen  bool
	use     Crypto
	version string
}

// UseCrypto chooses the implementation of RSA for the signers and keys the
// process makes from now on (those made before keep theirs): CryptoAuto,
// CryptoOpenSSL (an error when libcrypto cannot be loaded, saying why) or
// CryptoGo. It returns the implementation in use and its version, such as
// "OpenSSL 3.0.19 27 Jan 2026". Without a call, the first signer or key
// chooses CryptoAuto. Signatures are the same bytes either way: RSASSA-
// PKCS1-v1_5 is deterministic.
func UseCrypto(choice Crypto) (Crypto, string, error) {
	return chooseCrypto(choice, true)
}

// chooseCrypto resolves choice and makes it the process's: always when
// explicit, else only when nothing was chosen yet.
func chooseCrypto(choice Crypto, explicit bool) (Crypto, string, error) {
	var version string
	var err error
	switch choice {
	case CryptoGo:
		version = goVersion()
	case CryptoOpenSSL:
		if version, err = ossl.Load(); err != nil {
			return "", "", err
		}
	case CryptoAuto:
		if version, err = ossl.Load(); err == nil {
			choice = CryptoOpenSSL
		} else {
			choice, version = CryptoGo, goVersion()
		}
	default:
		return "", "", fmt.Errorf("crypto %q: want auto, openssl or go", string(choice))
	}
	cryptoChoice.Lock()
	defer cryptoChoice.Unlock()
	if explicit || !cryptoChoice.chosen {
		cryptoChoice.chosen, cryptoChoice.use, cryptoChoice.version = true, choice, version
	}
	return cryptoChoice.use, cryptoChoice.version, nil
}

// CryptoInUse returns the implementation of RSA that signers and keys are
// made with now, and its version; see [UseCrypto].
func CryptoInUse() (Crypto, string) {
	cryptoChoice.Lock()
	if cryptoChoice.chosen {
		defer cryptoChoice.Unlock()
		return cryptoChoice.use, cryptoChoice.version
	}
	cryptoChoice.Unlock()
	use, version, _ := chooseCrypto(CryptoAuto, false) // auto always has one
	return use, version
}

func goVersion() string { return "Go crypto/rsa (" + runtime.Version() + ")" }

// signerOf is the crypto.Signer that signs with priv: libcrypto's hold of
// it when OpenSSL is in use and takes the key (two primes), else priv
// itself. priv is sized.
func signerOf(priv *rsa.PrivateKey) (crypto.Signer, error) {
	if use, _ := CryptoInUse(); use != CryptoOpenSSL || len(priv.Primes) != 2 {
		return priv, nil
	}
	return ossl.NewPrivateKey(priv)
}

// generateRSA makes an RSA key of bits bits with the implementation in use.
func generateRSA(bits int) (*rsa.PrivateKey, error) {
	if use, _ := CryptoInUse(); use == CryptoOpenSSL {
		return ossl.GenerateKey(bits)
	}
	return rsa.GenerateKey(rand.Reader, bits)
}
