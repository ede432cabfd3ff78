# Warning flags and sanitizers applied to every cloudtwin target through
# cloudtwin_target_defaults(); third-party headers stay SYSTEM includes.
add_library(cloudtwin_options INTERFACE)
target_compile_options(cloudtwin_options INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion
  -Wnon-virtual-dtor -Wold-style-cast -Woverloaded-virtual -Wnull-dereference
  -Wimplicit-fallthrough -Wformat=2)
# Full RELRO (Debian's hardening=+bindnow): the GOT is read-only once the program runs.
target_link_options(cloudtwin_options INTERFACE -Wl,-z,relro,-z,now)
if(CLOUDTWIN_WERROR)
  target_compile_options(cloudtwin_options INTERFACE -Werror)
endif()
if(CLOUDTWIN_SANITIZE)
  target_compile_options(cloudtwin_options INTERFACE
    -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  target_link_options(cloudtwin_options INTERFACE -fsanitize=address,undefined)
endif()
if(CLOUDTWIN_FUZZ)
  target_compile_options(cloudtwin_options INTERFACE
    -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer)
  target_link_options(cloudtwin_options INTERFACE -fsanitize=address,undefined)
endif()

function(cloudtwin_target_defaults target)
  target_link_libraries(${target} PRIVATE cloudtwin_options)
endfunction()
