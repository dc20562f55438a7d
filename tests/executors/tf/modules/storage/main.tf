variable "backend" {
  type = string
  validation {
    condition     = contains(["ceph", "nfs"], var.backend)
    error_message = "backend must be ceph or nfs"
  }
}
variable "storage_class" { type = string }
variable "needed" { type = bool }

resource "terraform_data" "storage_class" {
  count = var.needed ? 1 : 0
  input = var.storage_class
}

output "storage_class" {
  value = var.needed ? terraform_data.storage_class[0].output : ""
}
