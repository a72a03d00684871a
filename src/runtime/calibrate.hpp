// The calibration behind the automatic path choice (dispatch.cpp): how fast each candidate path runs each
// kind of work of a size class.
#pragma once

#include <simdrop/runtime.hpp>
#include <vector>

namespace simdrop::detail {

// How fast each table ran each work kind of a size class (single thread, private buffers): the
// measurements calibrate_class returns, fastest choice made by the caller.
std::vector<CalibrationEntry> measure_class(SizeClass size_class, const std::vector<Isa>& candidates);

}  // namespace simdrop::detail
