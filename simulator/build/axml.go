package build

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"sort"
	"unicode/utf16"
)

// The binary XML format of a compiled AndroidManifest.xml, as AOSP's
// libandroidfw/include/androidfw/ResourceTypes.h defines it: a RES_XML_TYPE
// chunk holding a string pool, a resource map (the attribute resource ids of
// the first strings), then namespace and element chunks.
const (
	chunkStringPool = 0x0001
	chunkXML        = 0x0003
	chunkStartNS    = 0x0100
	chunkEndNS      = 0x0101
	chunkStartElem  = 0x0102
	chunkEndElem    = 0x0103
	chunkResMap     = 0x0180

	typeString  = 0x03
	typeIntDec  = 0x10
	typeBoolean = 0x12

	noIndex = 0xffffffff
)

// AndroidNS is the android: attribute namespace.
const AndroidNS = "http://schemas.android.com/apk/res/android"

// androidAttrIDs are the framework resource ids (android.R.attr) of the
// attributes the encoder writes; aapt maps each android: attribute to its id.
var androidAttrIDs = map[string]uint32{
	"label":            0x01010001,
	"name":             0x01010003,
	"hasCode":          0x0101000c,
	"debuggable":       0x0101000f,
	"exported":         0x01010010,
	"minSdkVersion":    0x0101020c,
	"versionCode":      0x0101021b,
	"versionName":      0x0101021c,
	"targetSdkVersion": 0x01010270,
	"testOnly":         0x01010272,
}

// Element is one element of a manifest to encode.
type Element struct {
	Name     string
	Attrs    []Attr
	Children []*Element
}

// Attr is an attribute. Android attributes (Android true) must be known to
// androidAttrIDs. Value is a string, an int or a bool.
type Attr struct {
	Android bool
	Name    string
	Value   any
}

// EncodeXML encodes a manifest tree (root <manifest>) in the binary XML
// format, with the android namespace declared on the root.
func EncodeXML(root *Element) ([]byte, error) {
	e := &axmlEncoder{index: map[string]uint32{}}
	// Attribute names with resource ids come first in the pool, in the
	// order of the resource map.
	var ids []uint32
	seen := map[string]bool{}
	var walk func(el *Element) error
	walk = func(el *Element) error {
		for _, a := range el.Attrs {
			if !a.Android {
				continue
			}
			id, ok := androidAttrIDs[a.Name]
			if !ok {
				return fmt.Errorf("axml: attribute android:%s has no known resource id", a.Name)
			}
			if !seen[a.Name] {
				seen[a.Name] = true
				ids = append(ids, id)
			}
		}
		for _, c := range el.Children {
			if err := walk(c); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(root); err != nil {
		return nil, err
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	byID := map[uint32]string{}
	for n, id := range androidAttrIDs {
		byID[id] = n
	}
	for _, id := range ids {
		e.str(byID[id])
	}
	nsPrefix, nsURI := e.str("android"), e.str(AndroidNS)

	var body bytes.Buffer
	node(&body, chunkStartNS, 1, u32s(nsPrefix, nsURI))
	if err := e.element(&body, root, nsURI, 1); err != nil {
		return nil, err
	}
	node(&body, chunkEndNS, 1, u32s(nsPrefix, nsURI))

	var out bytes.Buffer
	pool := e.pool()
	resMap := make([]byte, 8+4*len(ids))
	binary.LittleEndian.PutUint16(resMap[0:], chunkResMap)
	binary.LittleEndian.PutUint16(resMap[2:], 8)
	binary.LittleEndian.PutUint32(resMap[4:], uint32(len(resMap)))
	for i, id := range ids {
		binary.LittleEndian.PutUint32(resMap[8+4*i:], id)
	}
	total := 8 + len(pool) + len(resMap) + body.Len()
	hdr := make([]byte, 8)
	binary.LittleEndian.PutUint16(hdr[0:], chunkXML)
	binary.LittleEndian.PutUint16(hdr[2:], 8)
	binary.LittleEndian.PutUint32(hdr[4:], uint32(total))
	out.Write(hdr)
	out.Write(pool)
	out.Write(resMap)
	out.Write(body.Bytes())
	return out.Bytes(), nil
}

type axmlEncoder struct {
	strs  []string
	index map[string]uint32
}

func (e *axmlEncoder) str(s string) uint32 {
	if i, ok := e.index[s]; ok {
		return i
	}
	i := uint32(len(e.strs))
	e.strs = append(e.strs, s)
	e.index[s] = i
	return i
}

// pool encodes the string pool in UTF-16, as aapt writes manifests.
func (e *axmlEncoder) pool() []byte {
	var data bytes.Buffer
	offsets := make([]uint32, len(e.strs))
	for i, s := range e.strs {
		offsets[i] = uint32(data.Len())
		u := utf16.Encode([]rune(s))
		if len(u) > 0x7fff {
			_ = binary.Write(&data, binary.LittleEndian, uint16(0x8000|len(u)>>16))
		}
		_ = binary.Write(&data, binary.LittleEndian, uint16(len(u)&0xffff))
		_ = binary.Write(&data, binary.LittleEndian, u)
		_ = binary.Write(&data, binary.LittleEndian, uint16(0))
	}
	for data.Len()%4 != 0 {
		data.WriteByte(0)
	}
	const headerSize = 28
	stringsStart := headerSize + 4*len(e.strs)
	out := make([]byte, stringsStart, stringsStart+data.Len())
	binary.LittleEndian.PutUint16(out[0:], chunkStringPool)
	binary.LittleEndian.PutUint16(out[2:], headerSize)
	binary.LittleEndian.PutUint32(out[4:], uint32(stringsStart+data.Len()))
	binary.LittleEndian.PutUint32(out[8:], uint32(len(e.strs)))
	binary.LittleEndian.PutUint32(out[12:], 0) // styles
	binary.LittleEndian.PutUint32(out[16:], 0) // flags: UTF-16, not sorted
	binary.LittleEndian.PutUint32(out[20:], uint32(stringsStart))
	binary.LittleEndian.PutUint32(out[24:], 0)
	for i, o := range offsets {
		binary.LittleEndian.PutUint32(out[headerSize+4*i:], o)
	}
	return append(out, data.Bytes()...)
}

func u32s(v ...uint32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], x)
	}
	return b
}

// node writes a ResXMLTree_node chunk (16-byte header: line number and no
// comment) followed by ext.
func node(w *bytes.Buffer, typ uint16, line uint32, ext []byte) {
	h := make([]byte, 16)
	binary.LittleEndian.PutUint16(h[0:], typ)
	binary.LittleEndian.PutUint16(h[2:], 16)
	binary.LittleEndian.PutUint32(h[4:], uint32(16+len(ext)))
	binary.LittleEndian.PutUint32(h[8:], line)
	binary.LittleEndian.PutUint32(h[12:], noIndex)
	w.Write(h)
	w.Write(ext)
}

type encAttr struct {
	ns, name, raw uint32
	typ           uint8
	data          uint32
	id            uint32 // resource id, 0 for none
}

func (e *axmlEncoder) element(w *bytes.Buffer, el *Element, nsURI, line uint32) error {
	attrs := make([]encAttr, 0, len(el.Attrs))
	for _, a := range el.Attrs {
		ea := encAttr{ns: noIndex, name: e.str(a.Name), raw: noIndex}
		if a.Android {
			ea.ns, ea.id = nsURI, androidAttrIDs[a.Name]
		}
		switch v := a.Value.(type) {
		case string:
			ea.typ, ea.raw = typeString, e.str(v)
			ea.data = ea.raw
		case int:
			ea.typ, ea.data = typeIntDec, uint32(int32(v))
		case bool:
			ea.typ = typeBoolean
			if v {
				ea.data = 0xffffffff
			}
		default:
			return fmt.Errorf("axml: <%s> attribute %s: value %v (%T): allowed string, int, bool", el.Name, a.Name, a.Value, a.Value)
		}
		attrs = append(attrs, ea)
	}
	// aapt's order: attributes with resource ids by id, then the others.
	sort.SliceStable(attrs, func(i, j int) bool {
		ai, aj := attrs[i].id, attrs[j].id
		switch {
		case ai != 0 && aj != 0:
			return ai < aj
		case ai != 0:
			return true
		}
		return false
	})
	name := e.str(el.Name)
	ext := make([]byte, 20+20*len(attrs))
	binary.LittleEndian.PutUint32(ext[0:], noIndex) // element namespace
	binary.LittleEndian.PutUint32(ext[4:], name)
	binary.LittleEndian.PutUint16(ext[8:], 20)  // attributeStart
	binary.LittleEndian.PutUint16(ext[10:], 20) // attributeSize
	binary.LittleEndian.PutUint16(ext[12:], uint16(len(attrs)))
	// idIndex, classIndex, styleIndex: 0 (none)
	for i, a := range attrs {
		o := 20 + 20*i
		binary.LittleEndian.PutUint32(ext[o:], a.ns)
		binary.LittleEndian.PutUint32(ext[o+4:], a.name)
		binary.LittleEndian.PutUint32(ext[o+8:], a.raw)
		binary.LittleEndian.PutUint16(ext[o+12:], 8) // Res_value size
		ext[o+14] = 0
		ext[o+15] = a.typ
		binary.LittleEndian.PutUint32(ext[o+16:], a.data)
	}
	node(w, chunkStartElem, line, ext)
	for _, c := range el.Children {
		if err := e.element(w, c, nsURI, line+1); err != nil {
			return err
		}
	}
	node(w, chunkEndElem, line, u32s(noIndex, name))
	return nil
}
