// The whole public API of simdrop.
#pragma once

#include <simdrop/dropout.hpp>
#include <simdrop/family.hpp>
#include <simdrop/half.hpp>
#include <simdrop/runtime.hpp>
#include <simdrop/stream.hpp>
