// Package payloadcodec encrypts what rigger's workflows hand to Temporal:
// inputs, results, signals, query answers and step outputs are AES-256-GCM
// ciphertext in Temporal's database, readable only by a process holding
// the key (rigger's API server and workers, and operators through the
// codec endpoint the API serves to the Temporal UI).
//
// Each payload is replaced by one with encoding "binary/encrypted", the
// key's id in its metadata, and nonce || ciphertext of the original
// payload (metadata and data) as its data; the key id is authenticated as
// additional data. Rotation: add a key and make it the active one; older
// payloads still decode with the key their id names.
package payloadcodec

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/proto"
)

// Metadata keys and values of an encrypted payload.
const (
	Encoding    = "binary/encrypted"
	MetadataKey = "encryption-key-id"
)

// Key is one AES-256 key and the id payloads name it by.
type Key struct {
	ID     string
	Secret []byte // 32 bytes
}

// Codec is a converter.PayloadCodec. It is safe for concurrent use.
type Codec struct {
	active string
	aeads  map[string]cipher.AEAD
}

var _ converter.PayloadCodec = (*Codec)(nil)

// New returns a Codec that encrypts with the key named active and decrypts
// with any of keys.
func New(active string, keys ...Key) (*Codec, error) {
	c := &Codec{active: active, aeads: map[string]cipher.AEAD{}}
	for _, k := range keys {
		if k.ID == "" || len(k.ID) > 64 {
			return nil, errors.New("payload key id must be 1 to 64 characters")
		}
		if len(k.Secret) != 32 {
			return nil, fmt.Errorf("payload key %q must be 32 bytes (AES-256), got %d", k.ID, len(k.Secret))
		}
		if _, dup := c.aeads[k.ID]; dup {
			return nil, fmt.Errorf("payload key id %q is listed twice", k.ID)
		}
		block, err := aes.NewCipher(k.Secret)
		if err != nil {
			return nil, err
		}
		if c.aeads[k.ID], err = cipher.NewGCM(block); err != nil {
			return nil, err
		}
	}
	if _, ok := c.aeads[active]; !ok {
		return nil, fmt.Errorf("the active payload key %q is not among the keys", active)
	}
	return c, nil
}

// Derive makes the key named id from a secret the processes already share
// (scaffolder.secretKey), by HKDF-SHA256 for this one purpose.
func Derive(id string, secret []byte) (Key, error) {
	k, err := hkdf.Key(sha256.New, secret, nil, "rigger temporal payload codec "+id, 32)
	if err != nil {
		return Key{}, err
	}
	return Key{ID: id, Secret: k}, nil
}

// DeriveFromSecret is the key derived from scaffolder.secretKey, named
// "sk-" and the first bytes of the secret's SHA-256: another secret gives
// another id.
func DeriveFromSecret(secret []byte) (Key, error) {
	sum := sha256.Sum256(secret)
	return Derive(fmt.Sprintf("sk-%x", sum[:6]), secret)
}

// Encode implements converter.PayloadCodec. A payload that is already
// encrypted (a recorded input sent again as it was) is kept as it is.
func (c *Codec) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	aead := c.aeads[c.active]
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if string(p.GetMetadata()[converter.MetadataEncoding]) == Encoding {
			out[i] = p
			continue
		}
		plain, err := proto.Marshal(p)
		if err != nil {
			return nil, fmt.Errorf("encrypt payload: %w", err)
		}
		nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
		if _, err := rand.Read(nonce); err != nil {
			return nil, fmt.Errorf("encrypt payload: %w", err)
		}
		out[i] = &commonpb.Payload{
			Metadata: map[string][]byte{converter.MetadataEncoding: []byte(Encoding), MetadataKey: []byte(c.active)},
			Data:     aead.Seal(nonce, nonce, plain, []byte(c.active)),
		}
	}
	return out, nil
}

// Decode implements converter.PayloadCodec. Payloads that are not
// encrypted (written before encryption was on) pass unchanged.
func (c *Codec) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if string(p.GetMetadata()[converter.MetadataEncoding]) != Encoding {
			out[i] = p
			continue
		}
		id := string(p.GetMetadata()[MetadataKey])
		aead, ok := c.aeads[id]
		if !ok {
			return nil, fmt.Errorf("decrypt payload: no key %q (temporal.payloadKeys must keep every key still named by a payload)", id)
		}
		data := p.GetData()
		if len(data) < aead.NonceSize()+aead.Overhead() {
			return nil, errors.New("decrypt payload: too short")
		}
		plain, err := aead.Open(nil, data[:aead.NonceSize()], data[aead.NonceSize():], []byte(id))
		if err != nil {
			return nil, fmt.Errorf("decrypt payload with key %q: %w", id, err)
		}
		dp := &commonpb.Payload{}
		if err := proto.Unmarshal(plain, dp); err != nil {
			return nil, fmt.Errorf("decrypt payload: %w", err)
		}
		out[i] = dp
	}
	return out, nil
}

// DataConverter is Temporal's default data converter with c around it (or
// the default alone when c is nil).
func DataConverter(c *Codec) converter.DataConverter {
	if c == nil {
		return converter.GetDefaultDataConverter()
	}
	return converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), c)
}

// FailureConverter encodes failures' details with DataConverter(c) and,
// when c is set, their message and stack trace too (Temporal's encoded
// attributes), so an error that quotes a parameter is not clear text.
func FailureConverter(c *Codec) converter.FailureConverter {
	return temporal.NewDefaultFailureConverter(temporal.DefaultFailureConverterOptions{
		DataConverter: DataConverter(c), EncodeCommonAttributes: c != nil,
	})
}
