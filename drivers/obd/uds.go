package obd

// UDS (ISO 14229-1) requests and answers, without I/O: ReadDataByIdentifier
// (0x22) and ReadDTCInformation (0x19).

import (
	"fmt"
	"slices"
)

// UDS service ids and sub-functions used here.
const (
	sidReadDTCInformation     = 0x19
	sidReadDataByIdentifier   = 0x22
	reportDTCByStatusMask     = 0x02
	reportDTCExtDataByDTCNum  = 0x06
	reportMirrorDTCExtDataNum = 0x10
)

// udsNegative returns the negative response in data when it refuses
// service sid, or nil.
func udsNegative(data []byte, sid byte) *NegativeResponse {
	if len(data) >= 3 && data[0] == 0x7F && data[1] == sid {
		return &NegativeResponse{Service: data[1], Code: data[2]}
	}
	return nil
}

// udsExpect checks that data is a positive answer to service sid with at
// least n bytes; a negative answer to sid is returned as *NegativeResponse
// (its ECU field is 0: the caller knows which ECU sent it).
func udsExpect(data []byte, sid byte, n int) error {
	if nr := udsNegative(data, sid); nr != nil {
		return nr
	}
	if len(data) == 0 || data[0] != sid+0x40 {
		return fmt.Errorf("obd: % X is not an answer to service %02X", head(data, 3), sid)
	}
	if len(data) < n {
		return fmt.Errorf("obd: service %02X answer of %d bytes is too short (want at least %d)", sid, len(data), n)
	}
	return nil
}

// ReadDataByIdentifierRequest builds a ReadDataByIdentifier request (0x22)
// for one or more data identifiers.
func ReadDataByIdentifierRequest(dids ...uint16) []byte {
	b := make([]byte, 1, 1+2*len(dids))
	b[0] = sidReadDataByIdentifier
	for _, d := range dids {
		b = append(b, byte(d>>8), byte(d))
	}
	return b
}

// ParseReadDataByIdentifier returns the data record of DID did in a
// ReadDataByIdentifier answer (0x62, DID, data). The result aliases data.
// When several DIDs were asked at once the answer repeats DID and record,
// whose lengths only the ECU's documentation gives: the result then holds
// everything after the first DID. A negative answer is a *NegativeResponse.
func ParseReadDataByIdentifier(data []byte, did uint16) ([]byte, error) {
	if err := udsExpect(data, sidReadDataByIdentifier, 3); err != nil {
		return nil, err
	}
	if got := uint16(data[1])<<8 | uint16(data[2]); got != did {
		return nil, fmt.Errorf("obd: ReadDataByIdentifier answer is for DID %04X, not %04X", got, did)
	}
	return data[3:], nil
}

// ReportDTCByStatusMaskRequest builds ReadDTCInformation
// reportDTCByStatusMask (19 02 mask): the ECU reports the DTCs whose status
// has any of the mask's bits set (0xFF: all it stores).
func ReportDTCByStatusMaskRequest(mask byte) []byte {
	return []byte{sidReadDTCInformation, reportDTCByStatusMask, mask}
}

// dtcListSubFunctions are the ReadDTCInformation sub-functions whose
// answer is the availability mask and a list of DTC and status records.
var dtcListSubFunctions = []byte{
	0x02, // reportDTCByStatusMask
	0x0A, // reportSupportedDTC
	0x0B, // reportFirstTestFailedDTC
	0x0C, // reportFirstConfirmedDTC
	0x0D, // reportMostRecentTestFailedDTC
	0x0E, // reportMostRecentConfirmedDTC
	0x0F, // reportMirrorMemoryDTCByStatusMask
	0x13, // reportEmissionsOBDDTCByStatusMask
	0x15, // reportDTCWithPermanentStatus
}

// ParseReportDTCs decodes a ReadDTCInformation answer that lists DTCs
// (59 02, and the sub-functions with the same layout: 0A-0F, 13, 15): the
// DTC status availability mask (the status bits the ECU supports), then
// four bytes per DTC: the 3-byte code and its status byte. All-zero
// records (padding) are dropped. When the list does not end on a record
// boundary the complete records are returned with the error. A negative
// answer is a *NegativeResponse.
func ParseReportDTCs(data []byte) (availability byte, dtcs []DTC, err error) {
	if err := udsExpect(data, sidReadDTCInformation, 2); err != nil {
		return 0, nil, err
	}
	if !slices.Contains(dtcListSubFunctions, data[1]) {
		return 0, nil, fmt.Errorf("obd: ReadDTCInformation sub-function %02X does not answer with a DTC list", data[1])
	}
	if len(data) < 3 {
		return 0, nil, fmt.Errorf("obd: ReadDTCInformation %02X answer has no status availability mask", data[1])
	}
	availability = data[2]
	recs := data[3:]
	if len(recs)%4 != 0 {
		err = fmt.Errorf("obd: ReadDTCInformation %02X answer: %d bytes of DTC records, not a multiple of 4", data[1], len(recs))
	}
	for i := 0; i+4 <= len(recs); i += 4 {
		r := recs[i : i+4]
		if r[0]|r[1]|r[2]|r[3] == 0 {
			continue
		}
		d := NewUDSDTC(uint32(r[0])<<16 | uint32(r[1])<<8 | uint32(r[2]))
		d.Status, d.HasStatus = r[3], true
		dtcs = append(dtcs, d)
	}
	return availability, dtcs, err
}

// ReportDTCExtDataRequest builds ReadDTCInformation
// reportDTCExtDataRecordByDTCNumber (19 06 DTC record): record 0xFF asks
// for all the DTC's extended data records, 0xFE for all OBD ones.
func ReportDTCExtDataRequest(dtc uint32, record byte) []byte {
	return []byte{sidReadDTCInformation, reportDTCExtDataByDTCNum, byte(dtc >> 16), byte(dtc >> 8), byte(dtc), record}
}

// DTCExtData is the answer to ReportDTCExtDataRequest.
type DTCExtData struct {
	// DTC is the code the answer is about, with its status.
	DTC DTC
	// Raw is everything after the status byte: record number and data,
	// repeated for each record (it aliases the answer).
	Raw []byte
}

// ExtDataRecord is one extended data record of a DTC.
type ExtDataRecord struct {
	Number byte
	Data   []byte
}

// Records returns the extended data records. ISO 14229-1 leaves record
// numbers 0x01-0x8F and their lengths to the manufacturer (0x90-0xEF are
// for legislated OBD data), and nothing in the answer marks where a record
// ends. So records are split only with lengths from the caller's
// documentation (record number -> data bytes); without a length for a
// record, that record takes all the remaining bytes. Asking for one record
// at a time (not 0xFF) therefore always splits correctly. An error says
// that a given length runs past the end; the records before it are
// returned.
func (e DTCExtData) Records(lengths map[byte]int) ([]ExtDataRecord, error) {
	var out []ExtDataRecord
	b := e.Raw
	for len(b) > 0 {
		num := b[0]
		n, ok := lengths[num]
		if !ok {
			return append(out, ExtDataRecord{Number: num, Data: b[1:]}), nil
		}
		if n < 0 || 1+n > len(b) {
			return out, fmt.Errorf("obd: DTC %s extended data record %02X: %d data bytes expected, %d left", e.DTC.Code, num, n, len(b)-1)
		}
		out = append(out, ExtDataRecord{Number: num, Data: b[1 : 1+n]})
		b = b[1+n:]
	}
	return out, nil
}

// ParseReportDTCExtData decodes a ReadDTCInformation
// reportDTCExtDataRecordByDTCNumber answer (59 06, also the mirror memory
// variant 59 10): the DTC, its status, then the records, kept raw (see
// DTCExtData.Records). An ECU that stores no record for the DTC answers
// with no record bytes. A negative answer is a *NegativeResponse (0x31,
// request out of range, for a DTC the ECU does not know).
func ParseReportDTCExtData(data []byte) (DTCExtData, error) {
	if err := udsExpect(data, sidReadDTCInformation, 2); err != nil {
		return DTCExtData{}, err
	}
	if data[1] != reportDTCExtDataByDTCNum && data[1] != reportMirrorDTCExtDataNum {
		return DTCExtData{}, fmt.Errorf("obd: ReadDTCInformation sub-function %02X is not an extended data answer", data[1])
	}
	if len(data) < 6 {
		return DTCExtData{}, fmt.Errorf("obd: ReadDTCInformation %02X answer of %d bytes has no DTC and status", data[1], len(data))
	}
	d := NewUDSDTC(uint32(data[2])<<16 | uint32(data[3])<<8 | uint32(data[4]))
	d.Status, d.HasStatus = data[5], true
	return DTCExtData{DTC: d, Raw: data[6:]}, nil
}
