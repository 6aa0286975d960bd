// Drives floe::registry::UploadMachine with a byte-coded sequence of events, as a conforming
// caller (remote_target.cpp's push loop) would: it only reports the outcome of the step next()
// asked for. Events the current step cannot have are skipped.
//
// Input encoding (front to back; missing bytes read as 0):
//   flags   1 byte: bit 0 the blob's size is known, bit 1 its digest is known
//   size    value  (the blob size when known)
//   chunk   value  (the chunk size given to the constructor)
//   source  value  (the real length of a source of unknown size)
//   then events, one byte each, kind = byte % 5:
//     0 opened  + value: the effective chunk size the POST yielded
//     1 sent    (the PATCH of the step went through: all its bytes, or for a source of unknown
//               length what the source still had)
//     2 failed  (the step was lost)
//     3 told    + 1 byte answer kind % 5, then:
//                 0 the session is gone (nullopt)
//                 1 + value: a truthful answer (value % (bytes the registry may hold + 1))
//                 2 + value: any number
//                 3 + 1 length byte + that many bytes: what bytes_received reads from them
//                 4 + value: an impossible answer: (what the registry may hold) + 1 + value
//     4 closed  (the PUT answered 201)
//   value: one byte t; t < 0xf0 is t itself, 0xf0..0xfe pick from a table of edge values
//          (powers of two, 8 MiB +-1, 2^63-1, 2^64-1, ...), 0xff is followed by 8 bytes LE.
//
// Invariants (abort on violation), checked after every event:
//  - a known size is never exceeded: offset() <= size;
//  - a send step has a length; it starts at offset(); with a known size it is non-empty and
//    within the size (offset < size, offset + length <= size); with an unknown size it is
//    non-empty; a send at offset > 0 carries a Content-Range;
//  - a close step with the body (monolithic) only when digest and size are known, with
//    length == size; a close without body only when every byte was acknowledged (offset == size,
//    or for an unknown size the source's real end, unless the registry lied about what it held);
//  - done only right after closed();
//  - told(nullopt) and told() of an impossible count (more than was acknowledged plus the lost
//    step) start over: next() is open and offset() is 0; any other answer either starts over or
//    continues from exactly the bytes told.
#include "fuzz_check.hpp"

#include "floe/registry/upload_policy.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

using floe::registry::UploadMachine;
using Op = UploadMachine::Op;

namespace {

constexpr std::uint64_t max64 = std::numeric_limits<std::uint64_t>::max();

class Input {
  public:
    Input(const std::uint8_t* d, std::size_t n) : p_(d), n_(n) {}
    bool empty() const { return n_ == 0; }
    std::uint8_t byte() {
        if (n_ == 0)
            return 0;
        --n_;
        return *p_++;
    }
    std::uint64_t value() {
        static constexpr std::uint64_t table[] = {256,
                                                  4096,
                                                  65536,
                                                  1u << 20,
                                                  5u << 20,
                                                  (8u << 20) - 1,
                                                  8u << 20,
                                                  (8u << 20) + 1,
                                                  std::uint64_t(1) << 32,
                                                  std::uint64_t(1) << 40,
                                                  std::uint64_t(max64 >> 1),
                                                  max64 / 2 + 1,
                                                  max64 - 1,
                                                  max64,
                                                  1000};
        auto t = byte();
        if (t < 0xf0)
            return t;
        if (t < 0xff)
            return table[t - 0xf0];
        std::uint64_t v = 0;
        for (int i = 0; i < 8; ++i)
            v |= std::uint64_t(byte()) << (8 * i);
        return v;
    }
    std::string_view bytes(std::size_t n) {
        n = std::min(n, n_);
        std::string_view s(reinterpret_cast<const char*>(p_), n);
        p_ += n;
        n_ -= n;
        return s;
    }

  private:
    const std::uint8_t* p_;
    std::size_t n_;
};

std::uint64_t sat_add(std::uint64_t a, std::uint64_t b) {
    return a > max64 - b ? max64 : a + b;
}

const char* op_name(Op op) {
    switch (op) {
    case Op::open:
        return "open";
    case Op::send:
        return "send";
    case Op::close:
        return "close";
    case Op::ask:
        return "ask";
    case Op::done:
        return "done";
    }
    return "?";
}

std::string opt(std::optional<std::uint64_t> v) {
    return v ? std::to_string(*v) : std::string("none");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    Input in(data, size);
    const auto flags = in.byte();
    const bool size_known = flags & 1;
    const bool digest_known = flags & 2;
    const std::uint64_t size_value = in.value();
    const std::uint64_t chunk = in.value();
    const std::uint64_t source_len = in.value(); // real end of a source of unknown length
    const std::optional<std::uint64_t> blob_size =
        size_known ? std::optional<std::uint64_t>(size_value) : std::nullopt;

    UploadMachine m(blob_size, chunk, digest_known);

    // What the registry may hold as far as the caller can know (acknowledged bytes plus the end
    // of a lost PATCH), and what it can really hold (for an unknown size, the lost PATCH only
    // carried what the source had).
    std::uint64_t may_hold = 0, really_holds = 0;
    bool lied = false;        // the registry claimed bytes it cannot have had
    bool last_closed = false; // the last event applied was closed()
    std::string trace = "size=" + opt(blob_size) + " digest_known=" + std::to_string(digest_known) +
                        " chunk=" + std::to_string(chunk) +
                        " source_len=" + std::to_string(source_len) + " |";

    auto check = [&](const UploadMachine::Step& s) {
        auto where = [&] {
            return trace + "\n     now " + op_name(s.op) + " offset=" + std::to_string(s.offset) +
                   " length=" + opt(s.length) + " machine.offset=" + std::to_string(m.offset());
        };
        if (blob_size)
            FUZZ_CHECK(m.offset() <= *blob_size, "offset beyond the known size: " + where());
        switch (s.op) {
        case Op::send:
            FUZZ_CHECK(s.length.has_value(), "a send without a length: " + where());
            FUZZ_CHECK(s.offset == m.offset(), "a send not at the acknowledged offset: " + where());
            if (blob_size) {
                FUZZ_CHECK(s.offset < *blob_size, "a send at or past the end: " + where());
                FUZZ_CHECK(*s.length > 0, "an empty send with bytes left: " + where());
                FUZZ_CHECK(*s.length <= *blob_size - s.offset, "a send past the end: " + where());
            } else {
                FUZZ_CHECK(*s.length > 0,
                           "an empty chunk for a source of unknown size: " + where());
            }
            FUZZ_CHECK(s.offset == 0 || s.content_range,
                       "a PATCH after offset 0 without Content-Range: " + where());
            break;
        case Op::close:
            if (s.body_on_close) {
                FUZZ_CHECK(digest_known && blob_size && s.length == blob_size,
                           "a monolithic PUT without a known digest and size: " + where());
            } else if (blob_size) {
                FUZZ_CHECK(m.offset() == *blob_size,
                           "closing before every byte was acknowledged: " + where());
            } else if (!lied) {
                FUZZ_CHECK(m.offset() == source_len,
                           "closing a source of unknown size away from its end: " + where());
            }
            break;
        case Op::done:
            FUZZ_CHECK(last_closed, "done without closed(): " + where());
            break;
        case Op::open:
        case Op::ask:
            break;
        }
    };

    for (int events = 0; events < 4096 && !in.empty(); ++events) {
        const auto s = m.next();
        check(s);
        if (s.op == Op::done)
            break;
        const auto kind = in.byte() % 5;
        switch (kind) {
        case 0: { // opened
            if (s.op != Op::open)
                continue;
            auto c = in.value();
            trace += " opened(" + std::to_string(c) + ")";
            m.opened(c);
            may_hold = really_holds = 0;
            lied = false;
            break;
        }
        case 1: { // sent
            if (s.op != Op::send)
                continue;
            std::uint64_t n = *s.length;
            bool ended = false;
            if (!blob_size) { // read what the source still has
                std::uint64_t left = s.offset <= source_len ? source_len - s.offset : 0;
                n = std::min(n, left);
                ended = n < *s.length;
            }
            trace += " sent(" + std::to_string(n) + "," + std::to_string(ended) + ")";
            m.sent(n, ended);
            may_hold = really_holds = s.offset + n;
            break;
        }
        case 2: { // failed
            if (s.op == Op::send) {
                may_hold = std::max(may_hold, sat_add(s.offset, *s.length));
                std::uint64_t carried = *s.length;
                if (!blob_size)
                    carried = std::min(carried, s.offset <= source_len ? source_len - s.offset : 0);
                really_holds = std::max(really_holds, s.offset + carried);
            }
            trace += std::string(" failed(") + op_name(s.op) + ")";
            m.failed();
            break;
        }
        case 3: { // told
            if (s.op != Op::ask)
                continue;
            std::optional<std::uint64_t> held;
            switch (in.byte() % 5) {
            case 0:
                break;
            case 1:
                held = really_holds == max64 ? in.value() : in.value() % (really_holds + 1);
                break;
            case 2:
                held = in.value();
                break;
            case 3:
                held = floe::registry::bytes_received(in.bytes(in.byte()));
                break;
            case 4:
                held = sat_add(sat_add(may_hold, 1), in.value());
                break;
            }
            const bool impossible = !held || *held > may_hold;
            trace += " told(" + opt(held) + ")";
            m.told(held);
            const auto after = m.next();
            const bool restarted = after.op == Op::open && m.offset() == 0;
            if (impossible)
                FUZZ_CHECK(restarted, "told() of a gone session or an impossible count did not "
                                      "start over (may hold " +
                                          std::to_string(may_hold) + "): " + trace);
            else
                FUZZ_CHECK(restarted || m.offset() == *held,
                           "told() neither started over nor continued from the count: " + trace);
            if (!restarted) {
                if (*held > really_holds)
                    lied = true;
                may_hold = really_holds = *held;
            }
            break;
        }
        case 4: { // closed
            if (s.op != Op::close)
                continue;
            trace += " closed";
            m.closed();
            last_closed = true;
            check(m.next());
            continue;
        }
        }
        last_closed = false;
        if (trace.size() > 4000)
            trace = "..." + trace.substr(trace.size() - 2000);
    }
    check(m.next());
    return 0;
}
