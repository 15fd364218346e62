package uplink

// Byte estimates of what a message costs on the cellular link, for the
// data budget: MQTT framing, TLS records and TCP/IP headers, plus the
// broker's acknowledgement. They are deliberately on the high side.
const (
	tcpIPHeader   = 52    // IPv4 20 + TCP 20 + timestamps option 12
	mss           = 1448  // TCP payload per segment on a 1500-byte MTU with timestamps
	tlsRecordOver = 29    // TLS 1.2 AES-GCM: 5 header + 8 nonce + 16 tag (1.3: 22)
	tlsRecordMax  = 16384 // plaintext per record
	// tlsHandshake is a full TLS handshake with a client certificate
	// chain both ways (two ~1 KB certificates, key exchange, finished).
	tlsHandshake = 6000
)

func varintLen(n int) int {
	switch {
	case n < 128:
		return 1
	case n < 16384:
		return 2
	case n < 2097152:
		return 3
	}
	return 4
}

// overTransport adds TLS and TCP/IP overhead to n bytes sent in one go.
func overTransport(n int, tls bool) int {
	if tls {
		n += tlsRecordOver * ((n + tlsRecordMax - 1) / tlsRecordMax)
	}
	return n + tcpIPHeader*((n+mss-1)/mss)
}

// PublishCost estimates the bytes a QoS 1 PUBLISH of payload to topic
// costs on the link, both directions: the PUBLISH and the PUBACK.
func PublishCost(topic string, payload int, tls bool) int {
	body := 2 + len(topic) + 2 + payload // topic length, topic, packet id, payload
	pub := 1 + varintLen(body) + body
	return overTransport(pub, tls) + overTransport(4, tls)
}

// PingCost is one keepalive: PINGREQ and PINGRESP.
func PingCost(tls bool) int { return 2 * overTransport(2, tls) }

// ConnectCost is a new connection: TCP handshake, TLS handshake, MQTT
// CONNECT with a will and CONNACK, and the request subscription.
func ConnectCost(tls bool, clientID, willTopic string, will int) int {
	n := 3 * tcpIPHeader // SYN, SYN-ACK, ACK
	if tls {
		n += tlsHandshake
	}
	connect := 12 + 2 + len(clientID) + 2 + len(willTopic) + 2 + will
	n += overTransport(2+connect, tls) + overTransport(4, tls)
	n += overTransport(64, tls) + overTransport(5, tls) // SUBSCRIBE cmd/+, SUBACK
	return n
}
