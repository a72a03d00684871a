// The whole public API of simdrop.
#pragma once

#include <simdrop/dropout.hpp>
#include <simdrop/runtime.hpp>
