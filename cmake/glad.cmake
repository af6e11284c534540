# Generates the glad 2 loaders at configure time with Debian's `glad` (python3-glad).
# --reproducible uses the specs packaged with glad: no network, same output every time.
# The output lives in the build tree only; it is never committed.
find_program(GLAD_EXECUTABLE glad REQUIRED)

set(GPUSOAK_GL_EXTENSIONS
    GL_ARB_buffer_storage GL_AMD_pinned_memory GL_NVX_gpu_memory_info GL_ATI_meminfo
    GL_KHR_debug GL_KHR_robustness)
set(GPUSOAK_EGL_EXTENSIONS
    EGL_EXT_platform_base EGL_EXT_platform_device EGL_EXT_device_base EGL_EXT_device_enumeration
    EGL_EXT_device_query EGL_EXT_device_drm EGL_MESA_platform_surfaceless EGL_KHR_create_context
    EGL_KHR_surfaceless_context EGL_KHR_no_config_context EGL_EXT_create_context_robustness)

set(glad_dir ${CMAKE_BINARY_DIR}/glad)
string(JOIN "," gl_ext ${GPUSOAK_GL_EXTENSIONS})
string(JOIN "," egl_ext ${GPUSOAK_EGL_EXTENSIONS})
set(glad_stamp "${gl_ext};${egl_ext}")

if(NOT EXISTS ${glad_dir}/gl/src/gl.c OR NOT "${GPUSOAK_GLAD_STAMP}" STREQUAL "${glad_stamp}")
  message(STATUS "Generating glad loaders in ${glad_dir}")
  foreach(spec IN ITEMS "gl;gl:core=4.5;${gl_ext}" "egl;egl=1.5;${egl_ext}")
    list(GET spec 0 name)
    list(GET spec 1 api)
    list(GET spec 2 ext)
    execute_process(
      COMMAND ${GLAD_EXECUTABLE} --quiet --reproducible --api ${api} --extensions ${ext}
              --out-path ${glad_dir}/${name} c --loader
      RESULT_VARIABLE rc OUTPUT_QUIET ERROR_VARIABLE err)
    if(NOT rc EQUAL 0)
      message(FATAL_ERROR "glad failed for ${api}: ${err}")
    endif()
  endforeach()
  set(GPUSOAK_GLAD_STAMP "${glad_stamp}" CACHE INTERNAL "")
endif()

add_library(gpusoak_glad STATIC ${glad_dir}/gl/src/gl.c ${glad_dir}/egl/src/egl.c)
target_include_directories(gpusoak_glad SYSTEM PUBLIC ${glad_dir}/gl/include ${glad_dir}/egl/include)
target_link_libraries(gpusoak_glad PUBLIC ${CMAKE_DL_LIBS})
set_target_properties(gpusoak_glad PROPERTIES POSITION_INDEPENDENT_CODE ON C_STANDARD 11)
target_compile_options(gpusoak_glad PRIVATE -w)
