// Movement ops: reshape/permute/slice/expand (views), contiguous, concat, gather (embedding lookup).
#include <numeric>
#include <optional>

#include "ops/op.h"
#include "ops/reference.h"
#include "tessera/ops.h"

namespace tessera::ops {

namespace {
std::string fmt_ints(const Attrs& a) { return fmt::format("[{}]", fmt::join(a.ints, ", ")); }

TensorMeta with_shape(const TensorMeta& m, Shape s) { return {std::move(s), m.dtype, m.device}; }

Cost copy_cost(Metas in, const Attrs&, const TensorMeta& out) { return elementwise_cost(in, out, 0); }
Cost no_cost(Metas, const Attrs&, const TensorMeta&) { return {}; }

// Strides that view `shape` over a tensor of (old_shape, old_strides), or nullopt (PyTorch's computeStride).
std::optional<Strides> view_strides(const Shape& old_shape, const Strides& old_strides, const Shape& shape) {
  if (shape_numel(old_shape) == 0 || old_shape.empty()) return contiguous_strides(shape);
  Strides out(shape.size());
  int64_t view_d = (int64_t)shape.size() - 1;
  int64_t chunk_base_stride = old_strides.back();
  int64_t tensor_numel = 1, view_numel = 1;
  for (int64_t d = (int64_t)old_shape.size() - 1; d >= 0; --d) {
    tensor_numel *= old_shape[d];
    if (d == 0 || (old_shape[d - 1] != 1 && old_strides[d - 1] != tensor_numel * chunk_base_stride)) {
      while (view_d >= 0 && (view_numel < tensor_numel || shape[view_d] == 1)) {
        out[view_d] = view_numel * chunk_base_stride;
        view_numel *= shape[view_d];
        --view_d;
      }
      if (view_numel != tensor_numel) return std::nullopt;
      if (d > 0) {
        chunk_base_stride = old_strides[d - 1];
        tensor_numel = 1;
        view_numel = 1;
      }
    }
  }
  if (view_d != -1) return std::nullopt;
  return out;
}

// reshape: attrs.ints = the target shape (no -1; the public function resolves it).
TensorMeta reshape_infer(Metas in, const Attrs& a) {
  TESSERA_CHECK(shape_numel(a.ints) == shape_numel(in[0].shape), "reshape: cannot view shape {} ({} elements) as {}",
                shape_str(in[0].shape), shape_numel(in[0].shape), shape_str(a.ints));
  return with_shape(in[0], a.ints);
}
Tensor reshape_view(Inputs in, const Attrs& a) {
  auto st = view_strides(in[0].shape(), in[0].strides(), a.ints);
  TESSERA_CHECK(st.has_value(), "reshape: a tensor of shape {} with strides {} cannot be viewed as {}; call contiguous first",
                shape_str(in[0].shape()), shape_str(in[0].strides()), shape_str(a.ints));
  return in[0].as_strided(a.ints, *st, in[0].offset());
}

TensorMeta permute_infer(Metas in, const Attrs& a) {
  int64_t r = (int64_t)in[0].shape.size();
  TESSERA_CHECK((int64_t)a.ints.size() == r, "permute: {} dims given for a tensor of rank {}", a.ints.size(), r);
  std::vector<bool> seen(r, false);
  Shape s(r);
  for (int64_t i = 0; i < r; ++i) {
    int64_t d = a.ints[i];
    TESSERA_CHECK(d >= 0 && d < r && !seen[d], "permute: dims {} are not a permutation of 0..{}", fmt_ints(a), r - 1);
    seen[d] = true;
    s[i] = in[0].shape[d];
  }
  return with_shape(in[0], s);
}
Tensor permute_view(Inputs in, const Attrs& a) {
  Shape s(a.ints.size());
  Strides st(a.ints.size());
  for (std::size_t i = 0; i < a.ints.size(); ++i) {
    s[i] = in[0].shape()[a.ints[i]];
    st[i] = in[0].strides()[a.ints[i]];
  }
  return in[0].as_strided(s, st, in[0].offset());
}

// slice: axis, start, end (already clamped), step > 0.
TensorMeta slice_infer(Metas in, const Attrs& a) {
  TESSERA_CHECK(a.step > 0, "slice: step must be positive, got {}", a.step);
  Shape s = in[0].shape;
  s[a.axis] = a.end > a.start ? (a.end - a.start + a.step - 1) / a.step : 0;
  return with_shape(in[0], s);
}
Tensor slice_view(Inputs in, const Attrs& a) {
  Shape s = slice_infer(std::vector<TensorMeta>{in[0].meta()}, a).shape;
  Strides st = in[0].strides();
  int64_t off = in[0].offset() + a.start * st[a.axis];
  st[a.axis] *= a.step;
  return in[0].as_strided(s, st, off);
}
std::string slice_format(const Attrs& a) { return fmt::format("axis={}, {}:{}:{}", a.axis, a.start, a.end, a.step); }

// expand: ints = full target shape (rank >= input rank).
TensorMeta expand_infer(Metas in, const Attrs& a) {
  const Shape& s = in[0].shape;
  TESSERA_CHECK(a.ints.size() >= s.size(), "expand: target {} has fewer dims than the input {}", shape_str(a.ints), shape_str(s));
  std::size_t lead = a.ints.size() - s.size();
  for (std::size_t d = 0; d < s.size(); ++d)
    TESSERA_CHECK(s[d] == a.ints[lead + d] || s[d] == 1, "expand: cannot expand {} to {} (dimension {})", shape_str(s),
                  shape_str(a.ints), lead + d);
  return with_shape(in[0], a.ints);
}
Tensor expand_view(Inputs in, const Attrs& a) {
  const Tensor& x = in[0];
  std::size_t lead = a.ints.size() - x.shape().size();
  Strides st(a.ints.size(), 0);
  for (std::size_t d = 0; d < x.shape().size(); ++d) st[lead + d] = x.shape()[d] == a.ints[lead + d] ? x.strides()[d] : 0;
  return x.as_strided(a.ints, st, x.offset());
}

TensorMeta same_infer(Metas in, const Attrs&) { return in[0]; }
void copy_reference(Inputs in, const Tensor& out, const Attrs&) {
  int64_t i = 0;
  ref::for_each_index(out.shape(), [&](const std::vector<int64_t>& idx) { ref::set(out, i++, ref::at(in[0], idx)); });
}

TensorMeta concat_infer(Metas in, const Attrs& a) {
  TESSERA_CHECK(!in.empty(), "concat: needs at least one tensor");
  Shape s = in[0].shape;
  for (std::size_t i = 1; i < in.size(); ++i) {
    TESSERA_CHECK(in[i].dtype == in[0].dtype, "concat: tensor {} has dtype {}, tensor 0 has {}", i,
                  dtype_name(in[i].dtype), dtype_name(in[0].dtype));
    TESSERA_CHECK(in[i].shape.size() == s.size(), "concat: tensor {} has rank {}, tensor 0 has {}", i, in[i].shape.size(), s.size());
    for (std::size_t d = 0; d < s.size(); ++d)
      TESSERA_CHECK((int64_t)d == a.axis || in[i].shape[d] == s[d], "concat: tensor {} has shape {}, incompatible with {} along axis {}",
                    i, shape_str(in[i].shape), shape_str(in[0].shape), a.axis);
    s[a.axis] += in[i].shape[a.axis];
  }
  return with_shape(in[0], s);
}
void concat_reference(Inputs in, const Tensor& out, const Attrs& a) {
  int64_t base = 0;
  Strides ost = out.strides();
  for (const Tensor& x : in) {
    ref::for_each_index(x.shape(), [&](const std::vector<int64_t>& idx) {
      int64_t o = 0;
      for (std::size_t d = 0; d < idx.size(); ++d) o += (idx[d] + ((int64_t)d == a.axis ? base : 0)) * ost[d];
      ref::set(out, o, ref::at(x, idx));
    });
    base += x.shape()[a.axis];
  }
}
std::string axis_format(const Attrs& a) { return fmt::format("axis={}", a.axis); }

// gather (embedding): in[0] = weight (V, C), in[1] = ids (...) integer -> (..., C).
TensorMeta gather_infer(Metas in, const Attrs&) {
  TESSERA_CHECK(in[0].shape.size() == 2, "embedding: weight must be 2-D (vocab, channels), got {}", shape_str(in[0].shape));
  TESSERA_CHECK(in[1].dtype == DType::i64 || in[1].dtype == DType::i32, "embedding: ids must be i64 or i32, got {}",
                dtype_name(in[1].dtype));
  Shape s = in[1].shape;
  s.push_back(in[0].shape[1]);
  return with_shape(in[0], s);
}
void gather_check(Inputs in, const Attrs&) {
  int64_t v = in[0].shape()[0];
  std::vector<int64_t> ids = in[1].to_int_vector();
  for (std::size_t i = 0; i < ids.size(); ++i)
    TESSERA_CHECK(ids[i] >= 0 && ids[i] < v, "embedding: id {} at position {} is out of range for a table of {} rows", ids[i], i, v);
}
void gather_reference(Inputs in, const Tensor& out, const Attrs&) {
  int64_t c = in[0].shape()[1], row = 0;
  ref::for_each_index(in[1].shape(), [&](const std::vector<int64_t>& idx) {
    int64_t id = (int64_t)ref::at(in[1], idx);
    for (int64_t j = 0; j < c; ++j)
      ref::set(out, row * c + j, ref::get(in[0], id * in[0].strides()[0] + j * in[0].strides()[1]));
    ++row;
  });
}
Cost gather_cost(Metas in, const Attrs&, const TensorMeta& out) {
  return {0, 2.0 * (double)shape_numel(out.shape) * (double)dtype_size(out.dtype) + (double)shape_numel(in[1].shape) * 8};
}
}  // namespace

const OpDef& def_reshape() {
  static const OpDef d{.name = "reshape", .kind = OpKind::view, .arity = 1, .infer = reshape_infer, .view = reshape_view,
                       .cost = no_cost, .format_attrs = fmt_ints};
  return d;
}
const OpDef& def_permute() {
  static const OpDef d{.name = "permute", .kind = OpKind::view, .arity = 1, .infer = permute_infer, .view = permute_view,
                       .cost = no_cost, .format_attrs = fmt_ints};
  return d;
}
const OpDef& def_slice() {
  static const OpDef d{.name = "slice", .kind = OpKind::view, .arity = 1, .infer = slice_infer, .view = slice_view,
                       .cost = no_cost, .format_attrs = slice_format};
  return d;
}
const OpDef& def_expand() {
  static const OpDef d{.name = "expand", .kind = OpKind::view, .arity = 1, .infer = expand_infer, .view = expand_view,
                       .cost = no_cost, .format_attrs = fmt_ints};
  return d;
}
const OpDef& def_contiguous() {
  static const OpDef d{.name = "contiguous", .kind = OpKind::primitive, .arity = 1, .infer = same_infer,
                       .reference = copy_reference, .cost = copy_cost};
  return d;
}
const OpDef& def_concat() {
  static const OpDef d{.name = "concat", .kind = OpKind::primitive, .arity = -1, .infer = concat_infer,
                       .reference = concat_reference, .cost = copy_cost, .format_attrs = axis_format};
  return d;
}
const OpDef& def_gather() {
  static const OpDef d{.name = "gather", .kind = OpKind::primitive, .arity = 2, .infer = gather_infer,
                       .reference = gather_reference, .cost = gather_cost, .check_values = gather_check};
  return d;
}

// ---- public functions ----

Tensor reshape(const Tensor& x, Shape shape) {
  int64_t known = 1, infer_at = -1;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      TESSERA_CHECK(infer_at < 0, "reshape: only one dimension can be -1, got {}", shape_str(shape));
      infer_at = (int64_t)i;
    } else {
      TESSERA_CHECK(shape[i] >= 0, "reshape: invalid size {} in {}", shape[i], shape_str(shape));
      known *= shape[i];
    }
  }
  if (infer_at >= 0) {
    TESSERA_CHECK(known > 0 && x.numel() % known == 0, "reshape: cannot reshape {} ({} elements) into {}",
                  shape_str(x.shape()), x.numel(), shape_str(shape));
    shape[infer_at] = x.numel() / known;
  }
  if (shape == x.shape()) return x;
  Attrs a{.ints = shape};
  if (!view_strides(x.shape(), x.strides(), shape)) return call(OpId::reshape, std::vector<Tensor>{contiguous(x)}, a);
  return call(OpId::reshape, std::vector<Tensor>{x}, a);
}

Tensor permute(const Tensor& x, std::vector<int64_t> dims) {
  for (int64_t& d : dims) d = normalize_axis(d, x.dim(), "permute");
  return call(OpId::permute, std::vector<Tensor>{x}, Attrs{.ints = std::move(dims)});
}

Tensor transpose(const Tensor& x, int64_t dim0, int64_t dim1) {
  std::vector<int64_t> dims(x.dim());
  std::iota(dims.begin(), dims.end(), 0);
  std::swap(dims[normalize_axis(dim0, x.dim(), "transpose")], dims[normalize_axis(dim1, x.dim(), "transpose")]);
  return permute(x, std::move(dims));
}

Tensor slice(const Tensor& x, int64_t dim, int64_t start, int64_t end, int64_t step) {
  int64_t axis = normalize_axis(dim, x.dim(), "slice");
  int64_t n = x.shape()[axis];
  auto clamp = [n](int64_t i) { return std::clamp<int64_t>(i < 0 ? i + n : i, 0, n); };
  return call(OpId::slice, std::vector<Tensor>{x},
              Attrs{.axis = axis, .start = clamp(start), .end = std::max(clamp(start), clamp(end)), .step = step});
}

Tensor expand(const Tensor& x, Shape shape) {
  std::size_t lead = shape.size() >= x.shape().size() ? shape.size() - x.shape().size() : 0;
  for (std::size_t d = lead; d < shape.size(); ++d)
    if (shape[d] == -1) shape[d] = x.shape()[d - lead];
  if (shape == x.shape()) return x;
  return call(OpId::expand, std::vector<Tensor>{x}, Attrs{.ints = std::move(shape)});
}

Tensor unsqueeze(const Tensor& x, int64_t dim) {
  int64_t d = normalize_axis(dim, x.dim() + 1, "unsqueeze");
  Shape s = x.shape();
  s.insert(s.begin() + d, 1);
  return reshape(x, s);
}

Tensor squeeze(const Tensor& x, int64_t dim) {
  int64_t d = normalize_axis(dim, x.dim(), "squeeze");
  TESSERA_CHECK(x.shape()[d] == 1, "squeeze: dimension {} of {} is not 1", d, shape_str(x.shape()));
  Shape s = x.shape();
  s.erase(s.begin() + d);
  return reshape(x, s);
}

Tensor contiguous(const Tensor& x) {
  if (x.is_contiguous()) return x;
  return call(OpId::contiguous, std::vector<Tensor>{x});
}

Tensor concat(std::span<const Tensor> xs, int64_t dim) {
  TESSERA_CHECK(!xs.empty(), "concat: needs at least one tensor");
  return call(OpId::concat, xs, Attrs{.axis = normalize_axis(dim, xs[0].dim(), "concat")});
}

Tensor embedding(const Tensor& weight, const Tensor& ids) { return call(OpId::gather, std::vector<Tensor>{weight, ids}); }

}  // namespace tessera::ops
