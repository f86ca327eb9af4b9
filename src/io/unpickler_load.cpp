// The unpickler's opcode loop: decodes one pickle (PROTO .. STOP) with bounds checks on every read.
#include <cstring>

#include "io/unpickler.h"
#include "tessera/error.h"

namespace tessera::io {

uint32_t Unpickler::load(std::size_t& pos) {
  memo_.clear();
  stack_.clear();
  marks_.clear();
  auto need = [&](std::size_t n) {
    TESSERA_CHECK(n <= size_ - pos, "{}: pickle is truncated at byte {} (needs {} more bytes)", source_, pos, n);
  };
  auto le = [&](std::size_t n) {  // reads an n-byte little-endian unsigned integer
    need(n);
    uint64_t v = 0;
    for (std::size_t i = n; i-- > 0;) v = (v << 8) | data_[pos + i];
    pos += n;
    return v;
  };
  auto text = [&](std::size_t n) {
    need(n);
    std::string s(reinterpret_cast<const char*>(data_ + pos), n);
    pos += n;
    return s;
  };
  auto line = [&]() {  // GLOBAL's newline-terminated module / name
    const void* nl = pos < size_ ? std::memchr(data_ + pos, '\n', std::min<std::size_t>(size_ - pos, 4096)) : nullptr;
    TESSERA_CHECK(nl, "{}: corrupt pickle (unterminated GLOBAL at byte {})", source_, pos);
    std::size_t n = (std::size_t)(static_cast<const uint8_t*>(nl) - (data_ + pos));
    std::string s = text(n);
    ++pos;
    return s;
  };
  auto push = [&](PyObject o) { stack_.push_back(add(std::move(o))); };
  auto expect_kind = [&](uint32_t index, PyKind kind, const char* op) -> PyObject& {
    TESSERA_CHECK(objects_[index].kind == kind, "{}: corrupt pickle ({} applied to {})", source_, op,
                  describe(index));
    return objects_[index];
  };
  auto big_integer = [&](std::size_t n) {
    std::string bytes = text(n);
    if (n <= 8) {
      uint64_t v = 0;
      for (std::size_t i = n; i-- > 0;) v = (v << 8) | (uint8_t)bytes[i];
      if (n > 0 && n < 8 && ((uint8_t)bytes[n - 1] & 0x80)) v |= ~uint64_t(0) << (8 * n);  // sign-extend
      push(PyObject::of(PyKind::integer, (int64_t)v));
    } else {
      push(PyObject::of(PyKind::big_integer, std::move(bytes)));
    }
  };

  TESSERA_CHECK(pos < size_, "{}: expected a pickle at byte {} but the data ends there", source_, pos);
  for (;;) {
    need(1);
    uint8_t op = data_[pos++];
    switch (op) {
      case 0x80: le(1); break;  // PROTO
      case 0x95: le(8); break;  // FRAME: framing is only an IO hint
      case '}': push(PyObject::of(PyKind::dict)); break;
      case ']': push(PyObject::of(PyKind::list)); break;
      case ')': push(PyObject::of(PyKind::tuple)); break;
      case '(': marks_.push_back(stack_.size()); break;
      case 'N': push(PyObject::of(PyKind::none)); break;
      case 0x88: push(PyObject::of(PyKind::boolean, 1)); break;
      case 0x89: push(PyObject::of(PyKind::boolean, 0)); break;
      case 'K': push(PyObject::of(PyKind::integer, (int64_t)le(1))); break;
      case 'M': push(PyObject::of(PyKind::integer, (int64_t)le(2))); break;
      case 'J': push(PyObject::of(PyKind::integer, (int64_t)(int32_t)(uint32_t)le(4))); break;
      case 0x8a: big_integer((std::size_t)le(1)); break;  // LONG1
      case 0x8b: {                                         // LONG4
        uint64_t n = le(4);
        need(n);
        big_integer((std::size_t)n);
        break;
      }
      case 'G': {  // BINFLOAT: big-endian double
        need(8);
        uint64_t bits = 0;
        for (int i = 0; i < 8; ++i) bits = (bits << 8) | data_[pos + i];
        pos += 8;
        double d;
        std::memcpy(&d, &bits, 8);
        PyObject o = PyObject::of(PyKind::floating);
        o.f = d;
        push(std::move(o));
        break;
      }
      case 'X': case 'T': push(PyObject::of(PyKind::string, text(le(4)))); break;  // BINUNICODE, BINSTRING
      case 0x8c: case 'U': push(PyObject::of(PyKind::string, text(le(1)))); break;  // SHORT_BINUNICODE/STRING
      case 0x8d: push(PyObject::of(PyKind::string, text(le(8)))); break;            // BINUNICODE8
      case 'B': push(PyObject::of(PyKind::bytes, text(le(4)))); break;              // BINBYTES
      case 'C': push(PyObject::of(PyKind::bytes, text(le(1)))); break;              // SHORT_BINBYTES
      case 0x8e: push(PyObject::of(PyKind::bytes, text(le(8)))); break;             // BINBYTES8
      case 't': push(PyObject::of(PyKind::tuple, pop_mark())); break;
      case 0x85: {
        uint32_t a = pop();
        push(PyObject::of(PyKind::tuple, std::vector<uint32_t>{a}));
        break;
      }
      case 0x86: {
        uint32_t b = pop(), a = pop();
        push(PyObject::of(PyKind::tuple, std::vector<uint32_t>{a, b}));
        break;
      }
      case 0x87: {
        uint32_t c = pop(), b = pop(), a = pop();
        push(PyObject::of(PyKind::tuple, std::vector<uint32_t>{a, b, c}));
        break;
      }
      case 'a': {  // APPEND
        uint32_t v = pop();
        expect_kind(top(), PyKind::list, "APPEND").items.push_back(v);
        break;
      }
      case 'e': {  // APPENDS
        std::vector<uint32_t> vs = pop_mark();
        auto& l = expect_kind(top(), PyKind::list, "APPENDS").items;
        l.insert(l.end(), vs.begin(), vs.end());
        break;
      }
      case 's': {  // SETITEM
        uint32_t v = pop(), k = pop();
        auto& d = expect_kind(top(), PyKind::dict, "SETITEM").items;
        d.push_back(k);
        d.push_back(v);
        break;
      }
      case 'u': {  // SETITEMS
        std::vector<uint32_t> kv = pop_mark();
        TESSERA_CHECK(kv.size() % 2 == 0, "{}: corrupt pickle (SETITEMS with an odd item count)", source_);
        auto& d = expect_kind(top(), PyKind::dict, "SETITEMS").items;
        d.insert(d.end(), kv.begin(), kv.end());
        break;
      }
      case 'q': memo_[le(1)] = top(); break;                // BINPUT
      case 'r': memo_[le(4)] = top(); break;                // LONG_BINPUT
      case 0x94: memo_[memo_.size()] = top(); break;         // MEMOIZE
      case 'h': case 'j': {                                  // BINGET, LONG_BINGET
        uint64_t key = le(op == 'h' ? 1 : 4);
        auto it = memo_.find(key);
        TESSERA_CHECK(it != memo_.end(), "{}: corrupt pickle (memo entry {} read before it was written)", source_,
                      key);
        stack_.push_back(it->second);
        break;
      }
      case 'c': {  // GLOBAL
        std::string module = line();
        std::string name = line();
        stack_.push_back(make_global(std::move(module), std::move(name)));
        break;
      }
      case 0x93: {  // STACK_GLOBAL
        uint32_t n = pop(), m = pop();
        TESSERA_CHECK(objects_[m].kind == PyKind::string && objects_[n].kind == PyKind::string,
                      "{}: corrupt pickle (STACK_GLOBAL needs two strings)", source_);
        stack_.push_back(make_global(objects_[m].s, objects_[n].s));
        break;
      }
      case 'R': case 0x81: {  // REDUCE, NEWOBJ: callable(*args) for allowed globals only
        uint32_t args = pop(), fn = pop();
        stack_.push_back(call(fn, args));
        break;
      }
      case 'b': {  // BUILD: state of OrderedDicts (_metadata) and tensors is ignored
        uint32_t state = pop();
        PyKind k = objects_[top()].kind;
        TESSERA_CHECK(k == PyKind::dict || k == PyKind::tensor, "{}: refusing BUILD on {} (state {})", source_,
                      describe(top()), describe(state));
        break;
      }
      case 'Q': stack_.push_back(persistent_load(pop())); break;  // BINPERSID
      case '0': pop(); break;                                     // POP
      case '1': pop_mark(); break;                                // POP_MARK
      case '2': stack_.push_back(top()); break;                   // DUP
      case '.': {  // STOP
        uint32_t root = pop();
        TESSERA_CHECK(marks_.empty(), "{}: corrupt pickle (unclosed MARK at STOP)", source_);
        return root;
      }
      default:
        TESSERA_FAIL("{}: unsupported pickle opcode 0x{:02x} at byte {} (torch state dicts use protocol 2-5 "
                     "binary opcodes only)", source_, op, pos - 1);
    }
  }
}

}  // namespace tessera::io
