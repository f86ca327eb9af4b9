# Compiler flags shared by every Tessera target: warnings, optimisation, sanitizers.
add_library(tessera_flags INTERFACE)
# Host-compiler flags apply to C/C++ sources; CUDA sources get them through -Xcompiler where they matter.
set(_host "$<COMPILE_LANGUAGE:CXX,C>")
target_compile_options(tessera_flags INTERFACE
  $<${_host}:-Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers>)
# Math without errno or trap semantics (as PyTorch builds): lets GCC vectorise exp/erf/tanh loops. IEEE results unchanged.
target_compile_options(tessera_flags INTERFACE $<${_host}:-fno-math-errno -fno-trapping-math>)
if(TESSERA_NATIVE)
  target_compile_options(tessera_flags INTERFACE $<${_host}:-march=native>)
else()
  # x86-64-v3 (AVX2/FMA) is the floor of every machine we run on; keeps CI and users' binaries alike.
  if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64")
    target_compile_options(tessera_flags INTERFACE $<${_host}:-march=x86-64-v3>)
  endif()
endif()
if(TESSERA_SANITIZE)
  target_compile_options(tessera_flags INTERFACE -fsanitize=address,undefined -fno-omit-frame-pointer)
  target_link_options(tessera_flags INTERFACE -fsanitize=address,undefined)
endif()
if(TESSERA_FUZZ)
  target_compile_options(tessera_flags INTERFACE -fsanitize=fuzzer-no-link,address,undefined)
  target_link_options(tessera_flags INTERFACE -fsanitize=address,undefined)
endif()
