# gpusoak_header_check(<library> <module>): an object library with one .cpp per public header of
# include/gpusoak/<module>/, so every public header is proven to compile on its own.
function(gpusoak_header_check library module)
  file(GLOB headers CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/include/gpusoak/${module}/*.hpp)
  set(checks)
  foreach(header IN LISTS headers)
    get_filename_component(stem ${header} NAME_WE)
    set(check ${CMAKE_CURRENT_BINARY_DIR}/header_check/${stem}.cpp)
    file(CONFIGURE OUTPUT ${check} CONTENT "#include \"gpusoak/${module}/${stem}.hpp\"\n")
    list(APPEND checks ${check})
  endforeach()
  add_library(${library}_header_check OBJECT ${checks})
  target_link_libraries(${library}_header_check PRIVATE ${library})
endfunction()
