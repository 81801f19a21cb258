! A Fortran HDF5 writer and reader (no MPI): `fortran_grid write FILE` stores a
! 300 x 200 double-precision dataset /grid (value = i + 1000 * j) with an
! attribute; `fortran_grid read FILE` reads it back, checks every value and
! prints the sum. Built with h5pfc, like the C kernels.
program fortran_grid
  use hdf5
  implicit none
  integer, parameter :: nx = 300, ny = 200
  character(len=4096) :: mode, fname
  integer(hid_t) :: file, space, dset, aspace, attr, dcpl
  integer(hsize_t) :: dims(2) = (/ int(nx, hsize_t), int(ny, hsize_t) /), adims(1) = (/ 1_hsize_t /)
  double precision :: grid(nx, ny), back(nx, ny)
  integer :: err, i, j, bad
  integer :: version(1) = (/ 7 /)

  call get_command_argument(1, mode)
  call get_command_argument(2, fname)
  do j = 1, ny
    do i = 1, nx
      grid(i, j) = dble(i) + 1000d0 * dble(j)
    end do
  end do
  call h5open_f(err)
  if (trim(mode) == "write") then
    call h5fcreate_f(trim(fname), H5F_ACC_TRUNC_F, file, err)
    call h5screate_simple_f(2, dims, space, err)
    call h5pcreate_f(H5P_DATASET_CREATE_F, dcpl, err)
    call h5pset_obj_track_times_f(dcpl, .false., err)  ! the same bytes on every run
    call h5dcreate_f(file, "grid", H5T_NATIVE_DOUBLE, space, dset, err, dcpl_id=dcpl)
    call h5pclose_f(dcpl, err)
    call h5dwrite_f(dset, H5T_NATIVE_DOUBLE, grid, dims, err)
    call h5screate_simple_f(1, adims, aspace, err)
    call h5acreate_f(dset, "version", H5T_NATIVE_INTEGER, aspace, attr, err)
    call h5awrite_f(attr, H5T_NATIVE_INTEGER, version, adims, err)
    call h5aclose_f(attr, err)
    call h5sclose_f(aspace, err)
    call h5dclose_f(dset, err)
    call h5sclose_f(space, err)
    call h5fclose_f(file, err)
    if (err /= 0) stop 1
  else
    call h5fopen_f(trim(fname), H5F_ACC_RDONLY_F, file, err)
    if (err /= 0) stop 2
    call h5dopen_f(file, "grid", dset, err)
    call h5dread_f(dset, H5T_NATIVE_DOUBLE, back, dims, err)
    call h5dclose_f(dset, err)
    call h5fclose_f(file, err)
    bad = count(back /= grid)
    print '(a, es22.15, a, i0)', "sum ", sum(back), " mismatching ", bad
    if (bad /= 0) stop 3
  end if
  call h5close_f(err)
end program fortran_grid
