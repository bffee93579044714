# estelik_library(NAME DIR DEPS...) builds every *.cc directly in DIR (relative to the calling
# CMakeLists.txt) into a static library NAME. An area owns its folder; adding a source file
# needs no CMake edit.
function(estelik_library name dir)
  file(GLOB sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/${dir}/*.cc)
  if(sources)
    add_library(${name} STATIC ${sources})
    target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR} ${PROJECT_BINARY_DIR})
    target_link_libraries(${name} PUBLIC ${ARGN})
  else()
    add_library(${name} INTERFACE)
    target_include_directories(${name} INTERFACE ${PROJECT_SOURCE_DIR} ${PROJECT_BINARY_DIR})
    target_link_libraries(${name} INTERFACE ${ARGN})
  endif()
endfunction()

# estelik_test(NAME DIR DEPS...) builds every *_test.cc in DIR (relative to the calling
# CMakeLists.txt) into one GoogleTest binary whose tests ctest discovers.
function(estelik_test name dir)
  file(GLOB sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/${dir}/*_test.cc)
  if(NOT sources)
    return()
  endif()
  add_executable(${name} ${sources})
  target_link_libraries(${name} PRIVATE ${ARGN} GTest::gtest GTest::gtest_main GTest::gmock)
  target_compile_definitions(${name} PRIVATE
    ESTELIK_SOURCE_DIR="${PROJECT_SOURCE_DIR}" ESTELIK_BINARY_DIR="${PROJECT_BINARY_DIR}")
  if(TARGET estelik_test_tools)
    add_dependencies(${name} estelik_test_tools estelik)
  endif()
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES LABELS ${name})
endfunction()
