// SPDX-License-Identifier: GPL-2.0
/**
 * @file   hellochar.c
 * @brief  An introductory character driver, the way the kernel courses
 *         write their first one: it keeps the last message written to
 *         /dev/hellochar and gives it back to whoever reads the device.
 *         The device appears in /dev by itself (class_create and
 *         device_create); only one process may have it open at a time.
 */

#include <linux/init.h>           // Macros used to mark up functions e.g. __init __exit
#include <linux/module.h>         // Core header for loading LKMs into the kernel
#include <linux/device.h>         // Header to support the kernel Driver Model
#include <linux/kernel.h>         // Contains types, macros, functions for the kernel
#include <linux/fs.h>             // Header for the Linux file system support
#include <linux/sched.h>          // current
#include <linux/mutex.h>          // Required for the mutex functionality
#include <linux/uaccess.h>        // Required for the copy to user function
#define  DEVICE_NAME "hellochar"  ///< The device will appear at /dev/hellochar using this value
#define  CLASS_NAME  "hello"      ///< The device class -- this is a character device driver

MODULE_LICENSE("GPL");            ///< The license type -- this affects available functionality
MODULE_AUTHOR("A Student");       ///< The author -- visible when you use modinfo
MODULE_DESCRIPTION("A simple Linux char driver");  ///< The description -- see modinfo
MODULE_VERSION("0.1");            ///< A version number to inform users

static int    majorNumber;                  ///< Stores the device number -- determined automatically
static char   message[256] = {0};           ///< Memory for the string that is passed from userspace
static short  size_of_message;              ///< Used to remember the size of the string stored
static int    numberOpens = 0;              ///< Counts the number of times the device is opened
static struct class*  helloClass  = NULL;   ///< The device-driver class struct pointer
static struct device* helloDevice = NULL;   ///< The device-driver device struct pointer

static DEFINE_MUTEX(hello_mutex);           ///< Only one process at a time

// The prototype functions for the character driver -- must come before the struct definition
static int     dev_open(struct inode *, struct file *);
static int     dev_release(struct inode *, struct file *);
static ssize_t dev_read(struct file *, char __user *, size_t, loff_t *);
static ssize_t dev_write(struct file *, const char __user *, size_t, loff_t *);

/** @brief Devices are represented as file structure in the kernel. The file_operations structure from
 *  /linux/fs.h lists the callback functions that you wish to associated with your file operations
 *  using a C99 syntax structure. char devices usually implement open, read, write and release calls
 */
static struct file_operations fops =
{
   .open = dev_open,
   .read = dev_read,
   .write = dev_write,
   .release = dev_release,
};

/** @brief The LKM initialization function
 *  The static keyword restricts the visibility of the function to within this C file. The __init
 *  macro means that for a built-in driver (not a LKM) the function is only used at initialization
 *  time and that it can be discarded and its memory freed up after that point.
 *  @return returns 0 if successful
 */
static int __init hellochar_init(void){
   printk(KERN_INFO "hellochar: Initializing the hellochar LKM\n");

   // Try to dynamically allocate a major number for the device -- more difficult but worth it
   majorNumber = register_chrdev(0, DEVICE_NAME, &fops);
   if (majorNumber<0){
      printk(KERN_ALERT "hellochar failed to register a major number\n");
      return majorNumber;
   }
   printk(KERN_INFO "hellochar: registered correctly with major number %d\n", majorNumber);

   // Register the device class
   helloClass = class_create(THIS_MODULE, CLASS_NAME);
   if (IS_ERR(helloClass)){                // Check for error and clean up if there is
      unregister_chrdev(majorNumber, DEVICE_NAME);
      printk(KERN_ALERT "Failed to register device class\n");
      return PTR_ERR(helloClass);          // Correct way to return an error on a pointer
   }
   printk(KERN_INFO "hellochar: device class registered correctly\n");

   // Register the device driver
   helloDevice = device_create(helloClass, NULL, MKDEV(majorNumber, 0), NULL, DEVICE_NAME);
   if (IS_ERR(helloDevice)){               // Clean up if there is an error
      class_destroy(helloClass);           // Repeated code but the alternative is goto statements
      unregister_chrdev(majorNumber, DEVICE_NAME);
      printk(KERN_ALERT "Failed to create the device\n");
      return PTR_ERR(helloDevice);
   }
   strcpy(message, "Hello from the kernel!\n");
   size_of_message = strlen(message);
   printk(KERN_INFO "hellochar: device class created correctly\n"); // Made it! device was initialized
   return 0;
}

/** @brief The LKM cleanup function
 *  Similar to the initialization function, it is static. The __exit macro notifies that if this
 *  code is used for a built-in driver (not a LKM) that this function is not required.
 */
static void __exit hellochar_exit(void){
   device_destroy(helloClass, MKDEV(majorNumber, 0));     // remove the device
   class_destroy(helloClass);                             // remove the device class
   unregister_chrdev(majorNumber, DEVICE_NAME);           // unregister the major number
   printk(KERN_INFO "hellochar: Goodbye from the LKM!\n");
}

/** @brief The device open function that is called each time the device is opened
 *  This will only increment the numberOpens counter in this case.
 *  @param inodep A pointer to an inode object (defined in linux/fs.h)
 *  @param filep A pointer to a file object (defined in linux/fs.h)
 */
static int dev_open(struct inode *inodep, struct file *filep){
   if(!mutex_trylock(&hello_mutex)){    /// Try to acquire the mutex (i.e., put the lock on/down)
                                          /// returns 1 if successful and 0 if there is contention
      printk(KERN_ALERT "hellochar: Device in use by another process");
      return -EBUSY;
   }
   numberOpens++;
   printk(KERN_INFO "hellochar: Device has been opened %d time(s) by %s (pid %d)\n",
          numberOpens, current->comm, current->pid);
   return 0;
}

/** @brief This function is called whenever device is being read from user space i.e. data is
 *  being sent from the device to the user. In this case is uses the copy_to_user() function to
 *  send the buffer string to the user and captures any errors.
 *  @param filep A pointer to a file object (defined in linux/fs.h)
 *  @param buffer The pointer to the buffer to which this function writes the data
 *  @param len The length of the b
 *  @param offset The offset if required
 */
static ssize_t dev_read(struct file *filep, char __user *buffer, size_t len, loff_t *offset){
   int error_count = 0;

   if (*offset >= size_of_message)
      return 0;                            // end of the message
   if (len > size_of_message - *offset)
      len = size_of_message - *offset;
   // copy_to_user has the format ( * to, *from, size) and returns 0 on success
   error_count = copy_to_user(buffer, message + *offset, len);

   if (error_count==0){            // if true then have success
      printk(KERN_INFO "hellochar: Sent %zu characters to the user\n", len);
      *offset += len;
      return len;
   }
   else {
      printk(KERN_INFO "hellochar: Failed to send %d characters to the user\n", error_count);
      return -EFAULT;              // Failed -- return a bad address message (i.e. -14)
   }
}

/** @brief This function is called whenever the device is being written to from user space i.e.
 *  data is sent to the device from the user. The data is copied to the message[] array in this
 *  LKM using the copy_from_user() function along with the length of the string.
 *  @param filep A pointer to a file object
 *  @param buffer The buffer to that contains the string to write to the device
 *  @param len The length of the array of data that is being passed in the const char buffer
 *  @param offset The offset if required
 */
static ssize_t dev_write(struct file *filep, const char __user *buffer, size_t len, loff_t *offset){
   if (len > sizeof(message) - 1)
      len = sizeof(message) - 1;           // the rest comes in the next write
   if (copy_from_user(message, buffer, len))
      return -EFAULT;
   message[len] = '\0';
   size_of_message = strlen(message);                 // store the length of the stored message
   printk("hellochar: Received %zu characters from the user\n", len);
   return len;
}

/** @brief The device release function that is called whenever the device is closed/released by
 *  the userspace program
 *  @param inodep A pointer to an inode object (defined in linux/fs.h)
 *  @param filep A pointer to a file object (defined in linux/fs.h)
 */
static int dev_release(struct inode *inodep, struct file *filep){
   mutex_unlock(&hello_mutex);          /// Releases the mutex (i.e., the lock goes up)
   printk(KERN_INFO "hellochar: Device successfully closed\n");
   return 0;
}

/** @brief A module must use the module_init() module_exit() macros from linux/init.h, which
 *  identify the initialization function at insertion time and the cleanup function (as
 *  listed above)
 */
module_init(hellochar_init);
module_exit(hellochar_exit);
