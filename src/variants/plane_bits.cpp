#include "variants/plane_bits.hpp"

#include <algorithm>

namespace simdrop::detail {
namespace {

// The `count` (<= 64) bits of src starting at bit `pos`; reads only the words that hold them.
inline std::uint64_t read_bits(const std::uint64_t* src, std::size_t pos, std::size_t count) noexcept {
  const std::size_t w = pos / 64, b = pos % 64;
  std::uint64_t v = src[w] >> b;
  if (b != 0 && b + count > 64) v |= src[w + 1] << (64 - b);
  return count == 64 ? v : v & ((std::uint64_t{1} << count) - 1);
}

// ORs the low `count` (<= 64) bits of v into dst at bit `pos`.
inline void or_bits(std::uint64_t* dst, std::size_t pos, std::uint64_t v, std::size_t count) noexcept {
  const std::size_t w = pos / 64, b = pos % 64;
  dst[w] |= v << b;
  if (b != 0 && b + count > 64) dst[w + 1] |= v >> (64 - b);
}

// ORs bits [src_pos, src_pos + count) of src into dst at dst_pos. src and dst may be the same array if
// the ranges do not overlap.
void copy_bits(std::uint64_t* dst, std::size_t dst_pos, const std::uint64_t* src, std::size_t src_pos,
               std::size_t count) noexcept {
  while (count > 0) {
    const std::size_t k = std::min<std::size_t>(64, count);
    or_bits(dst, dst_pos, read_bits(src, src_pos, k), k);
    dst_pos += k, src_pos += k, count -= k;
  }
}

// Sets bits [pos, pos + count) of dst.
void set_bits(std::uint64_t* dst, std::size_t pos, std::size_t count) noexcept {
  while (count > 0) {
    const std::size_t k = std::min<std::size_t>(64 - pos % 64, count);
    dst[pos / 64] |= (k == 64 ? ~std::uint64_t{0} : ((std::uint64_t{1} << k) - 1)) << (pos % 64);
    pos += k, count -= k;
  }
}

inline bool plane_bit(const std::uint64_t* planes, std::size_t k) noexcept { return (planes[k / 64] >> (k % 64)) & 1u; }

}  // namespace

void expand_plane_bits(std::uint64_t* out, std::size_t first, std::size_t n, const std::uint64_t* planes,
                       const PlaneShape& shape) noexcept {
  std::fill(out, out + (n + 63) / 64, std::uint64_t{0});
  const std::size_t spatial = shape.spatial, channels = shape.channels;
  if (shape.layout == Layout::nchw) {
    // Runs of `spatial` elements share one plane bit.
    std::size_t j = 0, plane = first / spatial, offset = first % spatial;
    while (j < n) {
      const std::size_t run = std::min(spatial - offset, n - j);
      if (plane_bit(planes, plane)) set_bits(out, j, run);
      j += run, ++plane, offset = 0;
    }
    return;
  }
  // nhwc: each image is `spatial` rows of `channels` elements, row r of image b taking plane bits
  // [b * channels, (b + 1) * channels). Within an image the pattern repeats every `channels` bits, so
  // after one partial and one whole row the rest of the image's span doubles what is already written.
  const std::size_t image = spatial * channels;
  std::size_t j = 0;
  while (j < n) {
    const std::size_t pos = first + j, b = pos / image, c = pos % channels;
    const std::size_t span = std::min(image - pos % image, n - j);  // elements of image b in this call
    const std::size_t head = std::min(channels - c, span);          // to the end of the current row
    copy_bits(out, j, planes, b * channels + c, head);
    std::size_t done = head;
    if (done < span) {  // one whole row, then doubling
      const std::size_t row_start = j + head;
      const std::size_t row = std::min(channels, span - done);
      copy_bits(out, row_start, planes, b * channels, row);
      done += row;
      std::size_t period = row;  // bits of whole rows written from row_start
      while (done < span) {
        const std::size_t k = std::min(period, span - done);
        copy_bits(out, row_start + period, out, row_start, k);
        done += k, period += k;
      }
    }
    j += span;
  }
}

}  // namespace simdrop::detail
