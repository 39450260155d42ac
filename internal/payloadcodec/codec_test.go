package payloadcodec

import (
	"bytes"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
)

func key(id string, b byte) Key { return Key{ID: id, Secret: bytes.Repeat([]byte{b}, 32)} }

func TestRoundTripAndCiphertext(t *testing.T) {
	c, err := New("k1", key("k1", 1))
	if err != nil {
		t.Fatal(err)
	}
	dc := DataConverter(c)
	const secret = "db-password-4f1c9e"
	p, err := dc.ToPayload(map[string]any{"password": secret, "n": 3})
	if err != nil {
		t.Fatal(err)
	}
	if string(p.Metadata["encoding"]) != Encoding || string(p.Metadata[MetadataKey]) != "k1" || bytes.Contains(p.Data, []byte(secret)) {
		t.Fatalf("encoded payload is not ciphertext: %q %q", p.Metadata, p.Data)
	}
	var back map[string]any
	if err := dc.FromPayload(p, &back); err != nil || back["password"] != secret {
		t.Fatalf("round trip: %v, %v", back, err)
	}
	// Two encodings of one value differ (a fresh nonce each).
	p2, _ := dc.ToPayload(map[string]any{"password": secret, "n": 3})
	if bytes.Equal(p.Data, p2.Data) {
		t.Error("the same value encrypted twice gave the same bytes")
	}
	// A payload written before encryption was on still reads.
	plain, _ := DataConverter(nil).ToPayload("older")
	var s string
	if err := dc.FromPayload(plain, &s); err != nil || s != "older" {
		t.Errorf("an unencrypted payload: %q, %v", s, err)
	}
}

func TestTamperingAndKeys(t *testing.T) {
	old, _ := New("k1", key("k1", 1))
	enc, err := old.Encode([]*commonpb.Payload{{Metadata: map[string][]byte{"encoding": []byte("json/plain")}, Data: []byte(`"v"`)}})
	if err != nil {
		t.Fatal(err)
	}
	// Sent again as recorded, an encrypted payload is not wrapped twice.
	if again, err := old.Encode(enc); err != nil || again[0] != enc[0] {
		t.Errorf("re-encoding an encrypted payload: %v %v", again, err)
	}
	// Rotation: k2 encrypts, k1 still decrypts what it wrote.
	rotated, err := New("k2", key("k2", 2), key("k1", 1))
	if err != nil {
		t.Fatal(err)
	}
	if dec, err := rotated.Decode(enc); err != nil || string(dec[0].Data) != `"v"` {
		t.Fatalf("decode an old key's payload after rotation: %v %v", dec, err)
	}
	plainP := []*commonpb.Payload{{Metadata: map[string][]byte{"encoding": []byte("json/plain")}, Data: []byte(`"w"`)}}
	if again, _ := rotated.Encode(plainP); string(again[0].Metadata[MetadataKey]) != "k2" {
		t.Errorf("rotated codec encrypts with %q, want k2", again[0].Metadata[MetadataKey])
	}
	flipped := &commonpb.Payload{Metadata: enc[0].Metadata, Data: append([]byte(nil), enc[0].Data...)}
	flipped.Data[len(flipped.Data)-1] ^= 1
	relabelled := &commonpb.Payload{Metadata: map[string][]byte{"encoding": []byte(Encoding), MetadataKey: []byte("k2")}, Data: enc[0].Data}
	for name, c := range map[string]struct {
		codec *Codec
		p     *commonpb.Payload
		want  string
	}{
		"changed ciphertext":       {rotated, flipped, "message authentication failed"},
		"another key's id":         {rotated, relabelled, "message authentication failed"},
		"a key the codec lacks":    {func() *Codec { c, _ := New("k3", key("k3", 3)); return c }(), enc[0], `no key "k1"`},
		"too short to be anything": {rotated, &commonpb.Payload{Metadata: enc[0].Metadata, Data: []byte{1, 2}}, "too short"},
	} {
		if _, err := c.codec.Decode([]*commonpb.Payload{c.p}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
	}
	for name, keys := range map[string][]Key{
		"short key":         {{ID: "a", Secret: []byte("short")}},
		"no id":             {{ID: "", Secret: bytes.Repeat([]byte{1}, 32)}},
		"duplicate id":      {key("a", 1), key("a", 2)},
		"active not listed": {key("b", 1)},
	} {
		if _, err := New("a", keys...); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	d1, _ := Derive("x", []byte("secret"))
	d2, _ := Derive("y", []byte("secret"))
	if len(d1.Secret) != 32 || bytes.Equal(d1.Secret, d2.Secret) {
		t.Error("derived keys: wrong length, or the id does not separate them")
	}
}
